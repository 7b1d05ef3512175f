"""Importing Taobao/Tmall seller-centre exports (订单报表, 宝贝报表, 退款管理) into customers, orders and refunds.

pandas lives only in this package. Entry point: `import_files(paths, *, job=None, progress=None) -> dict`.
"""

from .formats.reading import UnreadableFile


def import_files(paths, *, job=None, progress=None, **options) -> dict:
    from .runner import import_files as run

    return run(paths, job=job, progress=progress, **options)


__all__ = ["UnreadableFile", "import_files"]
