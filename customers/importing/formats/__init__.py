"""The export formats: column layouts and kind detection, reading, cleaning in pandas, identity keys."""
