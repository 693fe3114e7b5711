"""DiceLens: review segmentations with exact, live per-class Dice."""

__version__ = "0.1.0"
