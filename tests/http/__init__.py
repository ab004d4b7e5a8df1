"""Tests of django_gql_channels.http."""
