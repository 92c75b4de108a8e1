"""the seed's farmer-crm schema: farmers, fields, conversations, schema_versions

Seed "Database Schema Best Practices" (indexes idx_farmers_country_status and idx_fields_farmer_id, the foreign
key fk_fields_farmer), "Query Optimization" (farmers' name, phone_number, country, subscription_status,
created_at), "Data Retention Policy" (conversations.timestamp; farmers' email and gdpr_removal_requested) and
"Database Versioning" (schema_versions exactly as the seed writes it). ``phone_number`` holds a Fernet token
(seed "Farmer Data Encryption"), hence TEXT.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schema_versions",
        sa.Column("version", sa.String(50), primary_key=True),
        sa.Column("applied_at", sa.TIMESTAMP, server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("description", sa.Text),
    )
    op.create_table(
        "farmers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("phone_number", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("subscription_status", sa.Text, nullable=False, server_default="active"),
        sa.Column("gdpr_removal_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("idx_farmers_country_status", "farmers", ["country", "subscription_status"])
    op.create_table(
        "fields",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("farmer_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("crop", sa.Text),
        sa.Column("area_hectares", sa.Numeric(12, 4)),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["farmer_id"], ["farmers.id"], name="fk_fields_farmer"),
    )
    op.create_index("idx_fields_farmer_id", "fields", ["farmer_id"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("farmer_id", sa.BigInteger, sa.ForeignKey("farmers.id", name="fk_conversations_farmer")),
        sa.Column("message", sa.Text),
        sa.Column("timestamp", sa.TIMESTAMP(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("idx_conversations_timestamp", "conversations", ["timestamp"])


def downgrade() -> None:
    op.drop_table("conversations")
    op.drop_table("fields")
    op.drop_table("farmers")
    op.drop_table("schema_versions")
