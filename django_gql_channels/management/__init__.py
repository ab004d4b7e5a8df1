"""Management commands (``gql_check``, ``gql_send_group``, ``gql_listen_group``) and their helpers."""
