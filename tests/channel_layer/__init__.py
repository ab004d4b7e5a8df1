"""Tests of django_gql_channels.channel_layer."""
