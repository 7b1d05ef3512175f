"""Per-user rate limits kept in Django's cache (settings.CACHES, from CACHE_URL)."""

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60


def search_allowed(user) -> bool:
    """Count one customer search for `user`; False once they made more than HUIKE_SEARCH_LIMIT_PER_MINUTE in
    the minute that began with their first search. A limit of 0 turns the check off."""
    limit = settings.HUIKE_SEARCH_LIMIT_PER_MINUTE
    if limit <= 0:
        return True
    key = f"huike:search-rate:{user.pk}"
    # The window starts at the first search and the key expires with it; incr keeps that expiry.
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count <= limit


class SearchRateThrottle(BaseThrottle):
    """The API side of search_allowed: a request with a search (`?q=`) counts; past the limit, 429."""

    def allow_request(self, request, view):
        if not request.query_params.get("q", "").strip() or not request.user.is_authenticated:
            return True
        return search_allowed(request.user)

    def wait(self):
        return WINDOW_SECONDS
