"""Quality measurements behind ``python -m trainers.evaluate``: one module per task, shared metrics."""
