"""The Qt user interface: windows, slice view, panels and the engine worker thread."""
