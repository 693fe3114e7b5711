"""Report content as data (Qt-free) and its PDF/CSV/JSON writers."""
