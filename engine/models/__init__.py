"""Network definitions shared by the engine (inference) and the trainers."""
