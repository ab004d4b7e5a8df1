"""graphene-django's own ``GraphQLView`` at ``/graphene/``, served by Django's ASGI handler (Graphene servers only)."""

from django.conf import settings

urlpatterns: list = []

if settings.LIBRARY == "graphene":
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt
    from graphene_django.views import GraphQLView

    from .orm_graphene import schema

    urlpatterns.append(path("graphene/", csrf_exempt(GraphQLView.as_view(schema=schema))))
