"""Importing Taobao/Tmall seller-centre exports (订单报表, 宝贝报表, 退款管理) into customers, orders and refunds.

pandas lives only in this package. The flow, top to bottom:
  import_files(paths)                       runner.py: one run, files sorted orders → lines → refunds
  → formats/reading.py                      open each file, detect its kind and layout (formats/columns.py)
  → a big PostgreSQL CSV: the staged path   staged/: COPY the raw bytes (copying.py, recordpass.py in its own
                                            process), clean in SQL (sqlclean.py), write set-based
                                            (staged/orders.py by Lane, staged/lines.py), a 宝贝报表 prepared ahead
                                            on a second connection (ahead.py); what fails to stage goes row by row
  → otherwise the row-by-row path           chunks cleaned in pandas (formats/cleaning.py, records.py), then
                                            one transaction per batch (rowwise/batches.write_batch) with the
                                            writers rowwise/orders.py, lines.py, refunds.py, buyers.py
  → after each file: figures and timeline   rowwise/batches.finish_file; then the summary (runner.py)
Run state lives in state.py (RunState, FileState); SQL helpers both paths share in sql.py; the de-duplication
rules in repeats.py; reason wording and translations in messages.py; the Celery job in jobs.py.
"""

from .formats.reading import UnreadableFile


def import_files(paths, *, job=None, progress=None, **options) -> dict:
    from .runner import import_files as run

    return run(paths, job=job, progress=progress, **options)


__all__ = ["UnreadableFile", "import_files"]
