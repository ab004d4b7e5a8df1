"""graphene-django's own view on the same schema, to compare our answers with."""

from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView

from tests.graphene_app.schema import schema

urlpatterns = [path("graphql/", csrf_exempt(GraphQLView.as_view(schema=schema)))]
