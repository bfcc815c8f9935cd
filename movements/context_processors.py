from movements.access import access_for


def access(request):
    return {"access": access_for(request.user)} if hasattr(request, "user") else {}
