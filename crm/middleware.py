from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ShopLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user chose another language with the switcher.

    Django's own middleware follows the browser's Accept-Language; a shop's back office should not change
    language because one computer's browser is set up in English, so only the switcher's cookie counts.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
