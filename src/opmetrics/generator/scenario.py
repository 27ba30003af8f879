"""The scenario of a synthetic month: every behaviour of the generator as a checked parameter.

A scenario is TOML. The shipped `default_scenario.toml` holds every parameter; a user's file is
merged over it, so it names only what it changes. Loading checks shapes with pydantic and then
checks the scenario against the catalog (an SRV must exist, target device types it accepts, be
future-dated only if it may be, response codes must fall in the right class), so a bad scenario
stops with a `ConfigError` naming the key before anything is generated.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opmetrics.catalog import Catalog
from opmetrics.errors import ConfigError

Role = Literal["supplier", "electricity_distributor", "gas_transporter", "other_user"]
ROLES: tuple[Role, ...] = ("supplier", "electricity_distributor", "gas_transporter", "other_user")
METER_TYPES = ("ESME", "GSME", "GPF", "CHF", "PPMID")
FAILURE_KINDS = (
    "device_timeout",
    "dcc_error",
    "device_error",
    "no_response",
    "dsp_gave_up",
    "interim_only",
)
DEFAULT_NAME = "default_scenario.toml"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Meta(_Model):
    name: str
    description: str = ""


class Scale(_Model):
    premises_per_million_requests: int = Field(gt=0)
    min_premises: int = Field(ge=100)
    max_premises: int = Field(ge=100)
    chunk_rows: int = Field(ge=1000, le=20_000_000)
    alerts_per_request: float = Field(ge=0, le=10)
    dcc_id: str = Field(pattern=r"^[0-9A-F]{2}(-[0-9A-F]{2}){7}$")
    party_id_prefix: str = Field(pattern=r"^[0-9A-F]{2}(-[0-9A-F]{2}){4}$")
    volume_noise: float = Field(ge=0, le=0.5)
    bank_holidays_as_sunday: bool = True


class PremisesMix(_Model):
    region_shares: dict[str, float]
    smets1_share: float = Field(ge=0, le=1)
    dual_fuel_share: float = Field(ge=0, le=1)
    prepayment_share: float = Field(ge=0, le=1)
    ppmid_share_of_prepayment: float = Field(ge=0, le=1)


class PartyGroup(_Model):
    id: str
    role: Role
    count: int = Field(ge=1, le=200)
    fleet_share: float = Field(default=0.0, ge=0)
    skew: float = Field(default=0.5, ge=0, le=3)
    activity: float = Field(default=1.0, gt=0)
    effect_sd: float = Field(default=0.2, ge=0, le=3)
    user_caused_percent: float = Field(ge=0, le=50)
    retry_percent: float = Field(ge=0, le=100)


class Adaptor(_Model):
    name: str
    share: float = Field(gt=0)
    effect: float = 0.0


class Firmware(_Model):
    version: str
    share: float = Field(gt=0)
    effect: float = 0.0


class DeviceModel(_Model):
    device_type: Literal["CHF", "ESME", "GSME", "PPMID"]
    smets: Literal["SMETS1", "SMETS2"]
    manufacturer: str
    model: str
    regions: tuple[str, ...] = ()
    share: float = Field(gt=0)
    effect: float = 0.0
    oui: str = Field(pattern=r"^[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}$")
    firmware: tuple[Firmware, ...] = Field(min_length=1)

    @property
    def label(self) -> str:
        return f"{self.manufacturer} {self.model}"


class SrvMix(_Model):
    share: float = Field(ge=0)
    success_percent: float = Field(gt=0, lt=100)
    profile: str
    senders: dict[Role, float]
    device_types: dict[str, float]
    future_dated_percent: float = Field(default=0.0, ge=0, le=100)
    prepayment_only: bool = False


class InstallStep(_Model):
    srv: str
    device_type: str
    when: Literal["always", "gas", "ppmid"] | None = None

    @property
    def condition(self) -> str:
        if self.when is not None:
            return self.when
        return {"GSME": "gas", "GPF": "gas", "PPMID": "ppmid"}.get(self.device_type, "always")


class Install(_Model):
    share: float = Field(ge=0)
    profile: str
    gap_seconds_median: float = Field(gt=0)
    gap_sigma: float = Field(ge=0, le=3)
    steps: tuple[InstallStep, ...] = Field(min_length=1, max_length=40)


class Profile(_Model):
    weekday: tuple[float, ...]
    saturday: tuple[float, ...]
    sunday: tuple[float, ...]

    @field_validator("weekday", "saturday", "sunday")
    @classmethod
    def _hours(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != 24 or any(x < 0 for x in v):
            raise ValueError("give 24 hourly weights, none negative")
        return v


class Outcomes(_Model):
    region_effect: dict[str, float]
    smets1_effect: float
    success_codes: dict[str, float]
    user_caused_codes: dict[str, float]
    sr_specific_percent: float = Field(ge=0, le=100)
    failure_kinds: dict[str, float]
    failure_codes: dict[str, str]
    late_success_percent: float = Field(ge=0, le=100)
    dsp_retry_percent: dict[Literal["2", "3"], float]
    transform_percent: float = Field(ge=0, le=100)
    non_critical_variants: dict[str, float]
    critical_variants: dict[str, float]
    max_party_retries: int = Field(ge=0, le=10)
    retry_delay_minutes_median: float = Field(gt=0)

    @field_validator("failure_kinds")
    @classmethod
    def _kinds(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(FAILURE_KINDS)
        if unknown:
            raise ValueError(
                f"unknown failure kind(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(FAILURE_KINDS)}"
            )
        if not v or sum(v.values()) <= 0 or any(x < 0 for x in v.values()):
            raise ValueError("give non-negative weights that add up to more than 0")
        return v


class Timing(_Model):
    outbound_median_s: float = Field(gt=0)
    inbound_median_s: float = Field(gt=0)
    sigma: float = Field(ge=0, le=3)
    critical_extra_s: float = Field(ge=0)
    smets1_extra_s: float = Field(ge=0)
    north_extra_s: float = Field(ge=0)
    han_median_s: dict[str, float]
    gsme_wake_interval_s: int = Field(gt=0, le=86400)
    dsp_retry_gap_s: float = Field(ge=0)
    transform_s: float = Field(gt=0)
    non_device_s: float = Field(gt=0)
    user_caused_s: float = Field(gt=0)
    device_timeout_s: float = Field(gt=0)
    future_dated_min_minutes: float = Field(gt=0)
    future_dated_max_hours: float = Field(gt=0, le=24 * 60)


class Incidents(_Model):
    counts: dict[Literal["1", "2", "3", "4", "5"], int]
    success_effect: dict[Literal["1", "2"], float]
    open_hours: dict[Literal["1", "2"], tuple[float, float]]
    late_percent: float = Field(ge=0, le=100)
    late_assignment_percent: float = Field(ge=0, le=100)
    not_dcc_responsible_percent: float = Field(ge=0, le=100)
    carried_over: int = Field(ge=0, le=100)
    still_open: int = Field(ge=0, le=100)


class PlannedOutage(_Model):
    interface: str
    weekday: Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    hours: float = Field(gt=0, le=24)


class MajorOutage(_Model):
    """An injected long unplanned outage: the month's visible CPM6 exception."""

    interface: str
    region: str
    minutes: float = Field(gt=0, le=24 * 60)


class Outages(_Model):
    planned_weekly: tuple[PlannedOutage, ...]
    unplanned: int = Field(ge=0, le=1000)
    unplanned_minutes: tuple[float, float]
    overlapping: int = Field(ge=0, le=100)
    open_at_month_end: bool
    across_clock_change: bool
    major: tuple[MajorOutage, ...] = ()


class Alerts(_Model):
    codes: dict[str, float]
    power_outage_code: str
    power_outage_percent: float = Field(ge=0, le=100)
    premises_per_power_cut: tuple[int, int]
    consolidated_percent: float = Field(ge=0, le=100)
    late_percent: float = Field(ge=0, le=100)
    undelivered_percent: float = Field(ge=0, le=100)
    delivery_median_s: float = Field(gt=0)
    profile: str


class FirmwareRollout(_Model):
    comms_hub_percent: float = Field(ge=0, le=100)
    delivery_failed_percent: float = Field(ge=0, le=100)
    activation_failed_percent: float = Field(ge=0, le=100)
    delivery_hours: tuple[float, float]
    activation_delay_hours: tuple[float, float]
    activation_hours: tuple[float, float] = (0.05, 6.0)


class AnomalyA(_Model):
    enabled: bool
    srv: str
    supplier_rank: int = Field(ge=1)
    gap_points: float = Field(ge=-60, le=60)
    peer_group: str
    peer_gap_points: float = Field(ge=-60, le=60)


class AnomalyB(_Model):
    enabled: bool
    supplier_rank: int = Field(ge=1)
    inherited_percent: float = Field(gt=0, le=100)
    comms_hub: str
    meter: str
    firmware: str
    success_percent: float = Field(gt=0, lt=100)


class AnomalyC(_Model):
    enabled: bool
    meter: str
    success_percent: float = Field(gt=0, lt=100)
    latest_firmware_success_percent: float = Field(gt=0, lt=100)


class AnomalyD(_Model):
    enabled: bool
    region: str
    srv: str
    success_percent: float = Field(gt=0, lt=100)


class Anomalies(_Model):
    a: AnomalyA
    b: AnomalyB
    c: AnomalyC
    d: AnomalyD


class Scenario(_Model):
    """A whole scenario. Build it with `load_scenario` (which also checks it against a catalog)."""

    meta: Meta
    scale: Scale
    premises: PremisesMix
    party_group: tuple[PartyGroup, ...] = Field(min_length=1)
    adaptor: tuple[Adaptor, ...] = Field(min_length=1)
    device_model: tuple[DeviceModel, ...] = Field(min_length=1)
    srv: dict[str, SrvMix]
    install: Install
    profile: dict[str, Profile]
    outcomes: Outcomes
    timing: Timing
    incidents: Incidents
    outages: Outages
    alerts: Alerts
    firmware: FirmwareRollout
    anomalies: Anomalies

    def model_by_label(self, label: str, device_type: str) -> int:
        for i, m in enumerate(self.device_model):
            if m.label == label and m.device_type == device_type:
                return i
        raise KeyError(label)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _loc_to_key(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        text = f'"{part}"' if isinstance(part, str) and "." in part else str(part)
        key += f"[{part}]" if isinstance(part, int) else ("." if key else "") + text
    return key


def default_scenario_dict() -> dict[str, Any]:
    text = resources.files("opmetrics.generator").joinpath(DEFAULT_NAME).read_text("utf-8")
    return tomllib.loads(text)


def parse_scenario(
    data: dict[str, Any], catalog: Catalog, path: str = "scenario", *, merge: bool = True
) -> Scenario:
    """Validate a scenario dict (merged over the default unless `merge` is false)."""
    full = _merge(default_scenario_dict(), data) if merge else data
    try:
        scenario = Scenario.model_validate(full)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _loc_to_key(tuple(first["loc"]))
        msg = first["msg"].removeprefix("Value error, ")
        extra = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise ConfigError(msg + extra, path=path, key=key or None) from None
    check_against_catalog(scenario, catalog, path)
    return scenario


def load_scenario(path: str | Path | None, catalog: Catalog) -> Scenario:
    """The default scenario, or a TOML file merged over it."""
    if path is None:
        return parse_scenario({}, catalog, f"opmetrics/generator/{DEFAULT_NAME}")
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 at byte {exc.start}", path=str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(p)) from None
    return parse_scenario(data, catalog, str(p))


def check_against_catalog(s: Scenario, c: Catalog, path: str) -> None:
    """Cross-check the scenario with the catalog and with itself; `ConfigError` names the key."""

    def fail(key: str, msg: str) -> None:
        raise ConfigError(msg, path=path, key=key)

    csp = set(c.csp_regions)
    if set(s.premises.region_shares) != csp:
        fail("premises.region_shares", f"give a share for each CSP region: {', '.join(csp)}")
    if any(v < 0 for v in s.premises.region_shares.values()) or not any(
        s.premises.region_shares.values()
    ):
        fail("premises.region_shares", "shares must be non-negative, one above 0")
    if set(s.outcomes.region_effect) - csp:
        fail("outcomes.region_effect", "names a region that is not a CSP region of the catalog")
    for i, g in enumerate(s.party_group):
        if g.role == "supplier" and g.fleet_share <= 0:
            fail(f"party_group[{i}].fleet_share", "a supplier group needs a fleet share above 0")
    roles = {g.role for g in s.party_group}
    if "supplier" not in roles:
        fail("party_group", "at least one group of suppliers is needed")
    ids = [g.id for g in s.party_group]
    if len(set(ids)) != len(ids):
        fail("party_group", "group ids must be unique")
    for i, m in enumerate(s.device_model):
        bad = set(m.regions) - csp
        if bad:
            fail(f"device_model[{i}].regions", f"unknown region(s) {', '.join(sorted(bad))}")
        if m.device_type not in c.device_types:
            fail(f"device_model[{i}].device_type", "not a device type of the catalog")
    if len(s.device_model) > 60:
        fail("device_model", "at most 60 models (device ids are unique per model up to 64)")
    labels = [(m.device_type, m.label) for m in s.device_model]
    if len(set(labels)) != len(labels):
        fail("device_model", "manufacturer + model must be unique per device type")
    for dt in ("CHF", "ESME", "GSME"):
        for smets in ("SMETS1", "SMETS2"):
            if not any(m.device_type == dt and m.smets == smets for m in s.device_model):
                fail("device_model", f"no {smets} {dt} model")
    for r in csp:
        if not any(
            m.device_type == "CHF" and m.smets == "SMETS2" and (not m.regions or r in m.regions)
            for m in s.device_model
        ):
            fail("device_model", f"no SMETS2 comms hub model serves region {r}")
    for name, mix in s.srv.items():
        key = f'srv."{name}"'
        srv = c.srvs.get(name)
        if srv is None:
            fail(key, f"SRV {name} is not in the catalog")
            continue
        if mix.profile not in s.profile:
            fail(f"{key}.profile", f"unknown profile {mix.profile!r}")
        if not mix.senders or any(v < 0 for v in mix.senders.values()):
            fail(f"{key}.senders", "give at least one sender role with a non-negative share")
        missing_roles = {r for r, v in mix.senders.items() if v > 0} - roles
        if missing_roles:
            fail(f"{key}.senders", f"no party group has role {', '.join(sorted(missing_roles))}")
        if not mix.device_types or any(v < 0 for v in mix.device_types.values()):
            fail(f"{key}.device_types", "give device types with non-negative shares")
        for dt in mix.device_types:
            if dt not in srv.device_types:
                fail(f"{key}.device_types", f"SRV {name} does not target {dt} (catalog)")
            if dt != "NONE" and dt not in METER_TYPES:
                fail(f"{key}.device_types", f"the generator has no {dt} devices")
        if mix.future_dated_percent > 0 and not srv.future_dated:
            fail(f"{key}.future_dated_percent", f"SRV {name} cannot be future-dated (catalog)")
        if srv.non_device and mix.future_dated_percent > 0:
            fail(f"{key}.future_dated_percent", "a non-device SRV cannot be future-dated")
        if mix.prepayment_only and set(mix.device_types) - {"ESME", "GSME", "PPMID"}:
            fail(f"{key}.prepayment_only", "prepayment requests target ESME, GSME or PPMID")
    if not any(m.share > 0 for m in s.srv.values()) and s.install.share <= 0:
        fail("srv", "no SRV has a share above 0")
    if s.install.profile not in s.profile:
        fail("install.profile", f"unknown profile {s.install.profile!r}")
    for i, step in enumerate(s.install.steps):
        key = f"install.steps[{i}]"
        if step.srv not in s.srv:
            fail(f"{key}.srv", f'SRV {step.srv} has no [srv."{step.srv}"] entry (its success rate)')
        srv = c.srvs.get(step.srv)
        if srv is None or step.device_type not in srv.device_types:
            fail(f"{key}.device_type", f"SRV {step.srv} does not target {step.device_type}")
    if s.alerts.profile not in s.profile:
        fail("alerts.profile", f"unknown profile {s.alerts.profile!r}")
    _check_codes(s, c, fail)
    _check_events(s, c, fail)
    _check_anomalies(s, c, fail)


def _check_codes(s: Scenario, c: Catalog, fail: Any) -> None:
    o = s.outcomes
    for code in o.success_codes:
        if c.classify_response(code) != "success":
            fail("outcomes.success_codes", f"{code} is not a success code in the catalog")
    for code in o.user_caused_codes:
        if c.classify_response(code) != "user_caused":
            fail("outcomes.user_caused_codes", f"{code} is not user-caused in the catalog")
    if o.sr_specific_percent > 0 and c.classify_response("E010101") != "user_caused":
        fail("outcomes.sr_specific_percent", "the catalog has no user-caused E + 6 digits rule")
    expected = {"device_timeout", "dcc_error", "device_error", "dsp_gave_up", "interim_only"}
    missing = expected - set(o.failure_codes)
    if missing:
        fail("outcomes.failure_codes", f"missing code for {', '.join(sorted(missing))}")
    for kind, code in o.failure_codes.items():
        if kind not in expected:
            fail("outcomes.failure_codes", f"{kind} takes no code")
        cls = c.classify_response(code)
        if kind == "interim_only":
            if cls not in ("interim", "dcc_failure"):
                fail("outcomes.failure_codes.interim_only", f"{code} is {cls} in the catalog")
        elif cls != "dcc_failure":
            fail(f"outcomes.failure_codes.{kind}", f"{code} is not a DCC failure in the catalog")
    for key, table in (
        ("outcomes.non_critical_variants", o.non_critical_variants),
        ("outcomes.critical_variants", o.critical_variants),
    ):
        if not table or any(not k.isdigit() or not 1 <= int(k) <= 8 for k in table):
            fail(key, "keys are command variants 1..8")
    for dt, v in s.timing.han_median_s.items():
        if dt not in METER_TYPES or v <= 0:
            fail("timing.han_median_s", f"{dt}: give a positive median for a device type")
    if set(METER_TYPES) - set(s.timing.han_median_s):
        fail("timing.han_median_s", f"give a median for each of {', '.join(METER_TYPES)}")


def _check_events(s: Scenario, c: Catalog, fail: Any) -> None:
    for i, p in enumerate(s.outages.planned_weekly):
        if p.interface not in c.interfaces:
            fail(f"outages.planned_weekly[{i}].interface", f"unknown interface {p.interface!r}")
    lo, hi = s.outages.unplanned_minutes
    if not 0 < lo <= hi:
        fail("outages.unplanned_minutes", "give [shortest, longest] minutes, 0 < shortest")
    for i, o in enumerate(s.outages.major):
        if o.interface not in c.interfaces:
            fail(f"outages.major[{i}].interface", f"unknown interface {o.interface!r}")
        if o.region not in c.regions:
            fail(f"outages.major[{i}].region", f"unknown region {o.region!r} (one region)")
    for cat, (lo, hi) in s.incidents.open_hours.items():
        if not 0 < lo <= hi:
            fail(f"incidents.open_hours.{cat}", "give [shortest, longest] hours")
    lo_n, hi_n = s.alerts.premises_per_power_cut
    if not 1 <= lo_n <= hi_n:
        fail("alerts.premises_per_power_cut", "give [smallest, largest], at least 1")
    if not s.alerts.codes or any(v < 0 for v in s.alerts.codes.values()):
        fail("alerts.codes", "give device alert codes with non-negative weights")
    for key, (lo, hi) in (
        ("firmware.delivery_hours", s.firmware.delivery_hours),
        ("firmware.activation_delay_hours", s.firmware.activation_delay_hours),
        ("firmware.activation_hours", s.firmware.activation_hours),
    ):
        if not 0 <= lo <= hi:
            fail(key, "give [shortest, longest] hours")


def _check_anomalies(s: Scenario, c: Catalog, fail: Any) -> None:
    a, b, cc, d = s.anomalies.a, s.anomalies.b, s.anomalies.c, s.anomalies.d
    n_suppliers = sum(g.count for g in s.party_group if g.role == "supplier")
    if a.enabled:
        if a.srv not in s.srv:
            fail("anomalies.a.srv", f"SRV {a.srv} has no [srv] entry")
        if a.supplier_rank > n_suppliers:
            fail("anomalies.a.supplier_rank", f"there are only {n_suppliers} suppliers")
        group = next((g for g in s.party_group if g.id == a.peer_group), None)
        if group is None or group.role != "supplier":
            fail("anomalies.a.peer_group", f"{a.peer_group!r} is not a group of suppliers")
    if b.enabled:
        if b.supplier_rank > n_suppliers:
            fail("anomalies.b.supplier_rank", f"there are only {n_suppliers} suppliers")
        try:
            hub = s.device_model[s.model_by_label(b.comms_hub, "CHF")]
        except KeyError:
            fail("anomalies.b.comms_hub", f"no CHF model {b.comms_hub!r}")
        try:
            meter = s.device_model[s.model_by_label(b.meter, "ESME")]
        except KeyError:
            fail("anomalies.b.meter", f"no ESME model {b.meter!r}")
        if b.firmware not in [f.version for f in meter.firmware]:
            fail("anomalies.b.firmware", f"{b.meter} has no firmware {b.firmware!r}")
        if hub.smets != "SMETS2" or meter.smets != "SMETS2":
            fail("anomalies.b", "the inherited set must be SMETS2")
        if a.enabled and a.supplier_rank == b.supplier_rank:
            fail("anomalies.b.supplier_rank", "anomalies a and b need different suppliers")
    if cc.enabled:
        try:
            gas = s.device_model[s.model_by_label(cc.meter, "GSME")]
        except KeyError:
            fail("anomalies.c.meter", f"no GSME model {cc.meter!r}")
        if len(gas.firmware) < 2:
            fail("anomalies.c.meter", "the model needs at least two firmware versions")
    if d.enabled:
        if d.region not in c.csp_regions:
            fail("anomalies.d.region", f"{d.region!r} is not a CSP region")
        if d.srv not in s.srv or s.srv[d.srv].share <= 0:
            fail("anomalies.d.srv", f"SRV {d.srv} is not generated (share 0 or no entry)")
