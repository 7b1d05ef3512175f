"""Small database helpers shared by the apps."""

from django.db import models


class NullsLastIndex(models.Index):
    """An index with `NULLS LAST` on PostgreSQL and without it on SQLite.

    PostgreSQL can only serve `ORDER BY x DESC NULLS LAST` from an index declared that way; SQLite rejects
    NULLS LAST in CREATE INDEX but already sorts NULLs last under DESC, so the plain index serves it there.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "sqlite" and self.expressions:
            index = self.clone()
            index.expressions = [self._without_nulls_order(e) for e in self.expressions]
            return super(NullsLastIndex, index).create_sql(model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    @staticmethod
    def _without_nulls_order(expression):
        if isinstance(expression, models.OrderBy):
            expression = expression.copy()
            expression.nulls_first = expression.nulls_last = None
        return expression
