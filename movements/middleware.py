from movements.views.errors import page_not_found


class NulPathNotFoundMiddleware:
    """No address holds a NUL character, and PostgreSQL refuses one in any query: answer 404 before a view
    would send it to the database (a 500 otherwise)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return page_not_found(request)
        return self.get_response(request)
