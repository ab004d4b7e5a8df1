"""To-dos for the live-query tests, and notes: a model no to-do query reads."""

from django.db import models


class Todo(models.Model):
    title = models.CharField(max_length=200)
    done = models.BooleanField(default=False)
    # Not selected by the tests' queries: saving it changes no result.
    touched = models.IntegerField(default=0)

    class Meta:
        ordering = ["id"]


class Note(models.Model):
    text = models.CharField(max_length=200)


class OpenTodo(Todo):
    """A proxy: saved through it, the to-do's table changes all the same."""

    class Meta:
        proxy = True


class Project(models.Model):
    name = models.CharField(max_length=100)


class ClientProject(Project):
    """Multi-table inheritance: a save writes the project's table too."""

    client = models.CharField(max_length=100)
