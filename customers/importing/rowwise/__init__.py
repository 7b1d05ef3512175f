"""The row-by-row path: cleaned batches written one transaction each (batches.py) by the writers here."""
