"""Pagination that never counts. At a million customers `SELECT COUNT(*)` over the filtered set costs more
than the page itself, on every request; instead we fetch one row more than a page to know whether there is a
next one, and show "previous / page N / next" without a total."""

from urllib.parse import urlencode

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

MAX_PAGE = 100_000  # deep offsets get slow; nobody pages this far, they filter


def _page_number(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


class UncountedPage:
    """The parts of django.core.paginator.Page the templates use, without a total."""

    def __init__(self, object_list: list, *, number: int, page_size: int, has_next: bool):
        self.object_list = object_list
        self.number = number
        self.page_size = page_size
        self._has_next = has_next

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.object_list else 0


def paginate_uncounted(queryset, *, page, page_size: int) -> UncountedPage:
    number = _page_number(page)
    offset = (number - 1) * page_size
    rows = list(queryset[offset : offset + page_size + 1])
    return UncountedPage(rows[:page_size], number=number, page_size=page_size, has_next=len(rows) > page_size)


class UncountedPagination(BasePagination):
    """DRF pagination without a count: `{"next": url|null, "previous": url|null, "results": [...]}`."""

    page_size = 50
    max_page_size = 500
    page_query_param = "page"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        try:
            size = int(request.query_params.get(self.page_size_query_param, self.page_size))
        except ValueError:
            size = self.page_size
        size = min(max(size, 1), self.max_page_size)
        self.page = paginate_uncounted(queryset, page=request.query_params.get(self.page_query_param), page_size=size)
        return self.page.object_list

    def _link(self, number: int | None) -> str | None:
        if number is None:
            return None
        params = self.request.query_params.copy()
        params[self.page_query_param] = number
        return self.request.build_absolute_uri(f"{self.request.path}?{urlencode(params, doseq=True)}")

    def get_paginated_response(self, data):
        page = self.page
        return Response({
            "next": self._link(page.next_page_number() if page.has_next() else None),
            "previous": self._link(page.previous_page_number() if page.has_previous() else None),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "Page number (1-based). There is no total count: follow `next`.",
             "schema": {"type": "integer"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Rows per page, at most {self.max_page_size}.", "schema": {"type": "integer"}},
        ]
