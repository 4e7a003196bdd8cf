"""synthpaint's Qt application. Reaches torch only through ``engine``."""
