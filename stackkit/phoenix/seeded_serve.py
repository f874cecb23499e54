"""`phoenix serve` with the demo's offline model already priced in Phoenix's database, so the price is live the
moment Phoenix answers. Run by PHOENIX_PYTHON (PHOENIX_VERSION's own environment, which has no stackkit), so it
imports only the standard library and Phoenix; stackkit.phoenix.launch execs it as
`PHOENIX_PYTHON seeded_serve.py PRICE_JSON` (the JSON from stackkit.phoenix.pricing.seed_argument).

Why before the start: Phoenix loads every price as its server starts and then only every 5 s
(server/daemons/generative_model_store.py), and it answers /healthz right after that first load; a price
registered through its API once it is healthy is live ~5 s later, a quarter of a cold `invoke up`. So this
runs Phoenix's own migration first (`create_engine(migrate=True)`, what `phoenix db migrate` does; `serve`
then finds the database at head), writes the model as Phoenix's createModel mutation does
(server/api/mutations/model_mutations.py) unless one of that name is there, and hands over to Phoenix's main
in the same process (same PID). Any failure here is one line in Phoenix's log and Phoenix starts anyway:
`invoke up` then registers the price through the API, as when Phoenix runs in a container.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

STACKKIT = "--- stackkit:"


async def _seed(price: dict[str, Any]) -> bool:
    """True when this call wrote the model; False when one of its name was there."""
    # Imported here: a Phoenix whose internals moved fails this step (one line), not its own start.
    import sqlalchemy as sa
    from phoenix.config import get_env_database_connection_str, get_env_disable_migrations, get_env_log_migrations
    from phoenix.db import models
    from phoenix.db.engines import create_engine
    from sqlalchemy.ext.asyncio import AsyncSession

    engine = create_engine(
        get_env_database_connection_str(),
        migrate=not get_env_disable_migrations(),
        log_migrations=get_env_log_migrations(),
    )
    try:
        async with AsyncSession(engine) as session, session.begin():
            model = models.GenerativeModel
            there = await session.scalar(
                sa.select(model.id).where(model.name == price["name"], model.deleted_at.is_(None))
            )
            if there is not None:
                return False
            session.add(
                model(
                    name=price["name"],
                    provider="",  # provider-agnostic: the pattern alone picks the price
                    name_pattern=re.compile(price["name_pattern"]),
                    is_built_in=False,
                    token_prices=[models.TokenPrice(**token_price) for token_price in price["token_prices"]],
                )
            )
        return True
    finally:
        await engine.dispose()


def main(argv: list[str]) -> None:
    try:
        price = json.loads(argv[1])
        wrote = asyncio.run(_seed(price))
        done = "priced" if wrote else "already priced"
        print(f"{STACKKIT} {price['name']} {done} in Phoenix's database before its start", flush=True)
    except Exception as error:  # an optimisation only: Phoenix must start whatever happened here
        print(
            f"{STACKKIT} could not price the offline model before Phoenix's start "
            f"({type(error).__name__}: {str(error)[:200]}); `invoke up` registers it through Phoenix's API",
            flush=True,
        )
    from phoenix.server.main import main as phoenix_main

    sys.argv = [sys.argv[0], "serve"]
    phoenix_main()


if __name__ == "__main__":
    main(sys.argv)
