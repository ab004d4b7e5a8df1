"""Strawberry's own Django view on the same schemas, to compare answers with."""

from typing import Any

from django.http import HttpRequest
from django.urls import path
from strawberry.django.views import AsyncGraphQLView

from django_gql_channels.views import GraphQLView
from tests.strawberry_django_app.schema import guarded, optimized, plain


class StrawberryContextView(GraphQLView):
    """Our view's ``info.context`` is the request (graphene-django's); Strawberry code reads ``context["request"]``."""

    def get_context(self, request: HttpRequest) -> Any:
        return {"request": request}


urlpatterns = [
    path("plain/", AsyncGraphQLView.as_view(schema=plain)),
    path("optimized/", AsyncGraphQLView.as_view(schema=optimized)),
    path("guarded/", AsyncGraphQLView.as_view(schema=guarded)),
    path("ours/optimized/", GraphQLView.as_view(schema=optimized)),
    path("ours/guarded/", StrawberryContextView.as_view(schema=guarded)),
]
