from django.apps import AppConfig


class TodosConfig(AppConfig):
    name = "tests.todos"
    label = "todos"
    default_auto_field = "django.db.models.AutoField"
