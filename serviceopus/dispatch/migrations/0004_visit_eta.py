from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0003_planning_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="eta",
            field=models.DateTimeField(blank=True, help_text="Predicted arrival at the customer, refreshed as the day goes.", null=True),
        ),
        migrations.AddField(
            model_name="visit",
            name="eta_updated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
