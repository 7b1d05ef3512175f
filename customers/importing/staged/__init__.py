"""The set-based (staged) path for big PostgreSQL CSVs: COPY, clean in SQL, write in slices (staging.py)."""
