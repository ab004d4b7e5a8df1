import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("todos", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Project",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
            ],
        ),
        migrations.CreateModel(
            name="OpenTodo",
            fields=[],
            options={"proxy": True, "indexes": [], "constraints": []},
            bases=("todos.todo",),
        ),
        migrations.CreateModel(
            name="ClientProject",
            fields=[
                ("project_ptr", models.OneToOneField(
                    auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True,
                    primary_key=True, serialize=False, to="todos.project")),
                ("client", models.CharField(max_length=100)),
            ],
            bases=("todos.project",),
        ),
    ]
