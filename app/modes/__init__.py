"""The image modes of the main window (one tab each): sketch, inpaint, colorize."""
