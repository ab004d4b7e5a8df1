"""Tests of django_gql_channels.ws."""
