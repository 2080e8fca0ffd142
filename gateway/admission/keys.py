"""Managing API keys: create (the key is shown once, its hash stored), list, revoke, and the
demo keys of ``make serve``. How a key is checked on each request is :mod:`gateway.admission.auth`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any, Final

from gateway import ids
from gateway.admission.auth import KEY_PREFIX, ROLES, TOKEN, hash_key, pepper
from gateway.clock import now
from gateway.database import Database, keys
from gateway.errors import BadUserInput
from gateway.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def check_key_spec(name: str, role: str, channels: Sequence[str]) -> tuple[str, ...]:
    """Validate a key's name, role and channels; return the channels, sorted and unique."""
    if not _NAME.match(name):
        raise BadUserInput(f"Key name {name[:70]!r}: 1 to 64 of A-Z a-z 0-9 _ . -", field="name")
    if role not in ROLES:
        raise BadUserInput(f"Role must be one of {', '.join(ROLES)}, got {role[:20]!r}.",
                           field="role")
    checked = tuple(sorted({ids.check(c, "ch_", field="channel") for c in channels}))
    if role == "admin" and checked:
        raise BadUserInput("An admin key sees every channel: give no --channel.", field="channel")
    if role == "partner" and not checked:
        raise BadUserInput("A partner key needs at least one --channel.", field="channel")
    return checked


async def create_key(
    db: Database,
    settings: Settings,
    *,
    name: str,
    role: str,
    channels: Sequence[str] = (),
    key: str | None = None,
    replace: bool = False,
) -> str:
    """Store a new key (its hash only) and return the key itself, which is never stored.

    ``key`` fixes the value (demo keys); ``replace`` first removes a key of the same name.
    """
    checked = check_key_spec(name, role, channels)
    key = key or new_key()
    if not TOKEN.match(key):
        raise BadUserInput("A key is 8 to 200 of A-Z a-z 0-9 . _ ~ + / = -", field="key")
    doc = {
        "_id": hash_key(key, pepper(settings)),
        "name": name,
        "role": role,
        "channels": list(checked),
        "created_at": now(),
        "revoked_at": None,
    }
    await keys.insert(db, doc, replace=replace)
    return key


async def list_keys(db: Database) -> list[dict[str, Any]]:
    """Every key's name, id (hash prefix), role, channels, creation and revocation times."""
    return [
        {"id": doc["_id"][:12], "name": doc["name"], "role": doc["role"],
         "channels": doc.get("channels", []), "created_at": doc["created_at"],
         "revoked_at": doc.get("revoked_at")}
        for doc in await keys.list_all(db)
    ]


async def revoke_key(db: Database, name_or_id: str) -> str | None:
    """Revoke the key with this name, or whose id (hash) starts with this (8+ characters).

    Returns the revoked key's name, or None when no valid key matched.
    """
    docs = await keys.list_all(db)
    match = [d for d in docs if d["name"] == name_or_id] or [
        d for d in docs if len(name_or_id) >= 8 and d["_id"].startswith(name_or_id)
    ]
    if len(match) != 1:
        return None
    revoked = await keys.revoke(db, match[0]["_id"], at=now())
    return str(match[0]["name"]) if revoked else None


DEMO_PARTNER_CHANNELS: Final = ("ch_my_market", "ch_us_market")


async def create_demo_keys(db: Database, settings: Settings) -> tuple[str, list[str]]:
    """Create (or replace) the demo admin and partner keys; return the admin key (GraphiQL is
    prefilled with it) and the lines that show both.

    ``OMNIGW_DEMO_ADMIN_KEY`` and ``OMNIGW_DEMO_PARTNER_KEY`` fix their values.
    """
    fixed_admin, fixed_partner = settings.demo_admin_key, settings.demo_partner_key
    admin = await create_key(
        db, settings, name="demo-admin", role="admin", replace=True,
        key=fixed_admin.get_secret_value() if fixed_admin else None,
    )
    partner = await create_key(
        db, settings, name="demo-partner", role="partner", channels=DEMO_PARTNER_CHANNELS,
        replace=True, key=fixed_partner.get_secret_value() if fixed_partner else None,
    )
    return admin, [
        f"demo admin key (every channel): {admin}",
        f"demo partner key ({', '.join(DEMO_PARTNER_CHANNELS)}): {partner}",
        "send a key as the header  Authorization: Bearer <key>  (GraphiQL: Headers pane)",
    ]
