"""Small inventory rows for unit tests: a system and a flow with sensible defaults."""

from __future__ import annotations

from lcopia.models import Flow, System, YesNo


def system(sid: str = "stacks", **kw: object) -> System:
    fields = dict(system_id=sid, name=f"System {sid}", vendor=f"Vendor {sid}", service="Stacks",
                  kind="ils", external=False, holds_library_records=True,
                  contract_binds_policy=YesNo.yes, contract_binds_missouri_law=YesNo.yes,
                  uses=["service_delivery"], shares_with_third_parties=YesNo.no,
                  patron_accounts=False, owner="Circulation Manager")
    fields.update(kw)
    return System(**fields)


def flow(fid: str = "F1", system_id: str = "stacks", elements: tuple[str, ...] = ("zip",),
         **kw: object) -> Flow:
    fields = dict(flow_id=fid, system_id=system_id, category="circulation",
                  elements=list(elements), purpose="Lending", direction="store",
                  recipient="Library", transfer="local", storage="library server",
                  retention_days=30, retention_need_days=30, encrypted=YesNo.yes,
                  broad_access=YesNo.no, minors=False, patrons_affected=100,
                  is_library_record=True, rationale="Identifies borrowers.")
    fields.update(kw)
    return Flow(**fields)
