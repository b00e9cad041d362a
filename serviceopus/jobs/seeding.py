"""Believable data for the demo (`manage.py seed_demo`) and the benchmarks (`manage.py seed_scale`).

Everything random comes from a `random.Random` the caller seeds, so a seed gives the same company every
time. The catalogues are small on purpose: a demo should read like a real trades business around
Chicago (names, addresses with coordinates, scopes and prices per trade), not like lorem ipsum.
"""

from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from random import Random

from django.contrib.auth.hashers import make_password
from django.db import transaction

from serviceopus.accounts.models import User
from serviceopus.accounts.roles import Role
from serviceopus.crew.models import Skill, Technician, WeeklyShift

from .models import BillingType, JobType, LineItem, Priority, Tag

DEMO_PASSWORD = "demo-pass-2026"

SKILLS = ("HVAC", "Plumbing", "Electrical", "Refrigeration", "Appliance repair")
TAGS = ("warranty", "vip", "callback", "commercial", "maintenance-plan", "after-hours", "permit")

# username, first name, last name, role
OFFICE_ACCOUNTS = (
    ("owner", "Olivia", "Brennan", Role.ADMIN),
    ("manager", "Marcus", "Reyes", Role.MANAGER),
    ("dispatcher", "Dana", "Kowalski", Role.DISPATCHER),
    ("office", "Priya", "Shah", Role.OFFICE),
)
# username, first name, last name, skills, hourly cost in cents
TECHNICIANS = (
    ("tech1", "Luis", "Ortega", ("HVAC", "Refrigeration"), 4200),
    ("tech2", "Jamal", "Washington", ("HVAC",), 3600),
    ("tech3", "Erin", "O'Malley", ("HVAC", "Electrical"), 4400),
    ("tech4", "Tomasz", "Nowak", ("Plumbing",), 3800),
    ("tech5", "Grace", "Kim", ("Plumbing", "HVAC"), 4000),
    ("tech6", "Darnell", "Jackson", ("Electrical",), 4600),
    ("tech7", "Sofia", "Alvarez", ("Electrical", "Appliance repair"), 3900),
    ("tech8", "Kevin", "Murphy", ("Appliance repair",), 3000),
    ("tech9", "Aisha", "Bello", ("Appliance repair", "Refrigeration"), 3500),
    ("tech10", "Ryan", "Schultz", ("Refrigeration", "HVAC"), 4500),
    ("tech11", "Hector", "Delgado", ("Plumbing",), 3400),
    ("tech12", "Nina", "Petrovic", ("HVAC", "Plumbing", "Electrical"), 4800),
)
# Who also works Saturday mornings (emergency calls, customers who are home only at weekends).
SATURDAY_CREW = ("tech4", "tech8")
TECH_COLORS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4f46e5", "#059669", "#b91c1c", "#7c3aed")

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "William", "Elizabeth", "Daniel", "Maria",
    "Joseph", "Susan", "Thomas", "Jessica", "Carlos", "Sarah", "Anthony", "Karen", "Mark", "Lisa", "Steven", "Nancy", "Paul",
    "Ashley", "Andrew", "Emily", "Joshua", "Michelle", "Kenneth", "Amanda", "Brian", "Melissa", "Juan", "Rebecca", "Tyrone",
    "Laura", "Eric", "Angela", "Jose", "Stephanie", "Adam", "Nicole", "Wei", "Fatima", "Omar", "Anna", "Patrick", "Megan",
    "Ahmed", "Rosa", "Dmitri", "Keisha", "Samuel", "Hannah", "Victor", "Olga", "Andre", "Yolanda",
)  # fmt: skip
SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
    "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Kowalczyk", "Wojcik", "Kaminski", "Lewandowski", "Okafor", "Adeyemi", "Patel", "Shah",
    "Khan", "Ali", "O'Brien", "Sullivan", "Kelly", "Murphy", "Fitzgerald", "Schmidt", "Mueller", "Becker", "Novak",
    "Horvath", "Papadopoulos", "Russo", "Esposito", "Romano", "Kim", "Park", "Choi", "Tran", "Pham", "Cohen", "Levin",
    "Greenberg", "Jablonski", "Zielinski", "Mendoza", "Castillo", "Vargas", "Ruiz", "Dvorak", "Svoboda", "Lindqvist",
    "Johansson", "Haddad", "Nasser", "Washington", "Brooks", "Price", "Bennett", "Reed", "Coleman",
)  # fmt: skip
BUSINESSES = (
    "Dental Group", "Family Restaurant", "Property Management", "Auto Body", "Bakery", "Law Offices", "Veterinary Clinic",
    "Fitness Studio", "Market", "Coffee Roasters", "Florist", "Hardware", "Daycare Center", "Pharmacy", "Brewing Co.",
    "Apartments", "Physical Therapy", "Deli", "Print Shop", "Funeral Home",
)  # fmt: skip

# Synthetic surnames for the scale seeder: every part list is prefix-free (fixed-length starts, two-letter
# middles), so start+middle+end is a different word for every triple, and a search for one customer's
# name stays selective at a million jobs, where the 100 real surnames above would each match 10,000.
_STARTS = (
    "Ash", "Bar", "Bel", "Bol", "Cal", "Cor", "Dal", "Dun", "Ald", "Fal", "Gar", "Hal", "Har", "Hol", "Kes", "Lan",
    "Mar", "Mer", "Nor", "Pen", "Ral", "Ros", "Sel", "Tal", "Wel", "Wyn", "Bex", "Car", "Del", "Elm", "Fen", "Gil",
    "Hav", "Jor", "Kil", "Lor", "Mon", "Nev", "Oak", "Pem", "Rad", "Sut", "Tam", "Ver", "Wal", "Yar", "Bur", "Cas",
    "Dor", "Eld", "Fin", "Gor", "Hem", "Kin", "Lud", "Mel", "Nol", "Orm", "Pal", "Rid", "Sil", "Tor", "Vel", "Wes",
)  # fmt: skip
_MIDDLES = ("an", "ar", "el", "en", "er", "in", "is", "on", "or", "ul", "am", "et", "ad", "ol", "il", "ab", "ev", "ur", "ig", "ot", "ac", "em", "im", "os")
_ENDS = (
    "ton", "ford", "by", "well", "son", "man", "ley", "worth", "field", "berg", "stead", "croft", "wick", "more", "dale",
    "burn", "ridge", "land", "hurst", "brook", "shaw", "ham", "ster", "ville", "stone", "wood", "gate", "mere", "holt",
    "cott", "thorpe", "bury", "den", "low", "fell", "marsh", "combe", "lock", "nell", "ric", "sby", "tree", "bridge",
    "cliffe", "grove", "haven", "mont", "wald",
)  # fmt: skip
_SURNAME_SPACE = len(_STARTS) * len(_MIDDLES) * len(_ENDS)  # 73,728


def scale_surname(n: int) -> str:
    """A surname that differs for every n below 73,728 (customer ids), scattered so neighbours differ."""
    j = (n * 7919) % _SURNAME_SPACE  # 7919 is prime and shares no factor with 2**13 * 9
    start, rest = j % len(_STARTS), j // len(_STARTS)
    return _STARTS[start] + _MIDDLES[rest % len(_MIDDLES)] + _ENDS[rest // len(_MIDDLES)]


# city, postal code, latitude, longitude (ZIP centroids; addresses are jittered around them)
PLACES = (
    ("Chicago", "60614", 41.9220, -87.6510), ("Chicago", "60657", 41.9400, -87.6530), ("Chicago", "60618", 41.9470, -87.7020),
    ("Chicago", "60625", 41.9710, -87.7010), ("Chicago", "60640", 41.9720, -87.6620), ("Chicago", "60647", 41.9210, -87.7020),
    ("Chicago", "60622", 41.9020, -87.6830), ("Chicago", "60607", 41.8740, -87.6510), ("Chicago", "60608", 41.8490, -87.6700),
    ("Chicago", "60616", 41.8450, -87.6250), ("Chicago", "60615", 41.8020, -87.6000), ("Chicago", "60617", 41.7250, -87.5560),
    ("Chicago", "60620", 41.7410, -87.6540), ("Chicago", "60629", 41.7750, -87.7110), ("Chicago", "60632", 41.8100, -87.7130),
    ("Chicago", "60634", 41.9460, -87.8060), ("Chicago", "60646", 41.9930, -87.7600), ("Chicago", "60655", 41.6950, -87.7040),
    ("Chicago", "60630", 41.9700, -87.7600), ("Chicago", "60660", 41.9910, -87.6630), ("Evanston", "60201", 42.0540, -87.6940),
    ("Skokie", "60076", 42.0360, -87.7320), ("Oak Park", "60302", 41.8940, -87.7890), ("Berwyn", "60402", 41.8350, -87.7920),
    ("Cicero", "60804", 41.8380, -87.7600), ("Park Ridge", "60068", 42.0120, -87.8420), ("Des Plaines", "60016", 42.0480, -87.8900),
    ("Arlington Heights", "60004", 42.1120, -87.9790), ("Schaumburg", "60173", 42.0580, -88.0480), ("Elmhurst", "60126", 41.8990, -87.9400),
    ("Downers Grove", "60515", 41.8030, -88.0100), ("Naperville", "60540", 41.7660, -88.1410), ("Oak Lawn", "60453", 41.7140, -87.7530),
    ("Orland Park", "60462", 41.6200, -87.8510), ("Wilmette", "60091", 42.0770, -87.7290), ("Niles", "60714", 42.0280, -87.8110),
    ("La Grange", "60525", 41.8060, -87.8750), ("Evergreen Park", "60805", 41.7210, -87.7020),
)  # fmt: skip
STREETS = (
    "N Clark St", "W Belmont Ave", "N Milwaukee Ave", "S Halsted St", "W Fullerton Ave", "N Damen Ave", "W Addison St",
    "N Western Ave", "S Ashland Ave", "W Irving Park Rd", "N Kedzie Ave", "W Lawrence Ave", "N Sheridan Rd", "W Diversey Pkwy",
    "W Division St", "W Chicago Ave", "N Lincoln Ave", "W Armitage Ave", "W Montrose Ave", "S Pulaski Rd", "W 63rd St",
    "S Cicero Ave", "W Foster Ave", "N California Ave", "Oak St", "Maple Ave", "Elm St", "Ridge Ave", "Green Bay Rd",
    "Central St", "Lake St", "Harlem Ave", "Chestnut St", "Washington St", "Grove Ave", "Prospect Ave", "Madison St",
    "Forest Ave", "Park Ave", "Hawthorne Ln",
)  # fmt: skip
ACCESS_NOTES = (
    "Side door; ring twice, the owner is hard of hearing.",
    "Lockbox on the back porch, code from the office.",
    "Park in the alley; street parking is permit-only.",
    "Dog in the backyard: use the front entrance.",
    "Basement entrance at the rear of the building.",
    "Check in with the front desk and sign the visitor log.",
    "Loading dock at the rear; security needs a name 24 h ahead.",
    "Tenant on site weekdays 9–3; owner approves work by phone.",
)
COMMERCIAL_ACCESS = ACCESS_NOTES[4:]
RESIDENTIAL_ACCESS = ACCESS_NOTES[:4] + ACCESS_NOTES[7:]

# Assets per kind of site: (name, [(make, model)], relevant job types)
ASSETS = {
    "Furnace": (("Carrier", "59TP6"), ("Lennox", "EL296V"), ("Trane", "S9V2"), ("Goodman", "GMVC96")),
    "AC condenser": (("Carrier", "24ACC6"), ("Trane", "XR14"), ("Lennox", "ML14XC1"), ("Goodman", "GSX14")),
    "Water heater": (("Rheem", "PROG50-38N"), ("A. O. Smith", "GCR-50"), ("Bradford White", "RG250T6N")),
    "Electrical panel": (("Square D", "QO 100A"), ("Eaton", "BR 100A"), ("Siemens", "PN 150A")),
    "Refrigerator": (("Whirlpool", "WRF555SDFZ"), ("Samsung", "RF28R7351SR"), ("GE", "GNE27JSMSS")),
    "Dishwasher": (("Bosch", "SHPM65Z55N"), ("KitchenAid", "KDTM404KPS")),
    "Rooftop unit": (("Carrier", "48FC"), ("Trane", "YSC060"), ("Lennox", "LGH120")),
    "Walk-in cooler": (("Kolpak", "KF7-0808-CR"), ("Master-Bilt", "MB-WIC-0810")),
    "Reach-in freezer": (("True", "T-49F"), ("Traulsen", "G22010")),
    "Boiler": (("Weil-McLain", "CGa-5"), ("Burnham", "ES2-5")),
}
RESIDENTIAL_ASSETS = ("Furnace", "AC condenser", "Water heater", "Electrical panel", "Refrigerator", "Dishwasher")
COMMERCIAL_ASSETS = ("Rooftop unit", "Walk-in cooler", "Reach-in freezer", "Boiler", "Water heater", "Electrical panel")


@dataclass(frozen=True)
class LineTemplate:
    kind: str
    description: str
    unit_price_cents: int
    unit_cost_cents: int = 0
    quantities: tuple[str, ...] = ("1",)
    taxable: bool = True


S, L, M, F = LineItem.Kind.SERVICE, LineItem.Kind.LABOUR, LineItem.Kind.MATERIAL, LineItem.Kind.FEE
TRIP = LineTemplate(F, "Trip charge", 4900)
PERMIT = LineTemplate(F, "City permit fee", 25000, 25000, taxable=False)


@dataclass(frozen=True)
class JobTypeSpec:
    name: str
    skills: tuple[str, ...]
    minutes: int
    billing: str
    color: str
    assets: tuple[str, ...]
    scopes: tuple[str, ...]
    base: tuple[LineTemplate, ...]  # always on the job
    extras: tuple[LineTemplate, ...]  # zero to two of these
    crew: int = 1  # technicians usually sent
    commercial_only: bool = False


JOB_TYPES = (
    JobTypeSpec(
        "AC repair", ("HVAC",), 120, BillingType.TIME_AND_MATERIALS, "#0ea5e9", ("AC condenser", "Rooftop unit"),
        (
            "AC not cooling; upstairs at 82°F with the thermostat set to 72.",
            "Outdoor unit hums but the fan does not spin.",
            "Ice on the refrigerant line at the indoor coil; system shut off by the customer.",
            "AC short-cycles every few minutes since the storm on Sunday.",
            "Water leaking from the indoor unit onto the basement floor.",
        ),
        (LineTemplate(S, "Cooling diagnostic", 8900),),
        (
            LineTemplate(M, "Run capacitor 45/5 MFD", 7800, 1900),
            LineTemplate(M, "Contactor 30 A, 2-pole", 9500, 2400),
            LineTemplate(M, "R-410A refrigerant (lb)", 9500, 2800, ("2", "3", "4")),
            LineTemplate(L, "Repair labour (hour)", 12500, 3800, ("1", "1.5", "2")),
            TRIP,
        ),
    ),
    JobTypeSpec(
        "Furnace maintenance", ("HVAC",), 90, BillingType.FIXED_PRICE, "#f97316", ("Furnace", "Boiler"),
        (
            "Annual furnace tune-up before the heating season.",
            "Furnace maintenance; customer reports a burning smell on first start.",
            "Check the furnace: it lights, then shuts off after a minute.",
            "Heating check-up and carbon monoxide test.",
        ),
        (LineTemplate(S, "Furnace tune-up", 12900),),
        (
            LineTemplate(M, "Pleated filter 16x25x1", 1800, 500, ("1", "2")),
            LineTemplate(M, "Flame sensor", 6900, 1400),
            LineTemplate(M, "Igniter, hot surface", 14500, 3900),
        ),
    ),
    JobTypeSpec(
        "Water heater install", ("Plumbing",), 240, BillingType.FIXED_PRICE, "#14b8a6", ("Water heater",),
        (
            "Replace the leaking 40-gallon gas water heater with a 50-gallon unit.",
            "Water heater install; the old tank is rusted through at the base.",
            "Install a new water heater and an expansion tank to code.",
        ),
        (
            LineTemplate(S, "50-gal gas water heater, installed", 185000),
            LineTemplate(M, "50-gal gas water heater", 0, 72000, taxable=False),
        ),
        (
            LineTemplate(M, "Thermal expansion tank", 14500, 4200),
            LineTemplate(F, "Haul-away of the old unit", 7500),
            PERMIT,
        ),
        crew=2,
    ),
    JobTypeSpec(
        "Drain cleaning", ("Plumbing",), 60, BillingType.FIXED_PRICE, "#8b5cf6", (),
        (
            "Kitchen sink drains slowly; the garbage disposal was cleared last week.",
            "Main line backup in the basement floor drain.",
            "Tub and bathroom sink both slow on the second floor.",
            "Recurring sewer backup after heavy rain; camera the line.",
        ),
        (LineTemplate(S, "Drain clearing, one line", 27500),),
        (
            LineTemplate(S, "Camera inspection", 19500),
            LineTemplate(M, "Cleanout cap 3 in", 2400, 600),
            TRIP,
        ),
    ),
    JobTypeSpec(
        "Panel upgrade", ("Electrical",), 480, BillingType.FIXED_PRICE, "#eab308", ("Electrical panel",),
        (
            "Upgrade the 100 A fuse panel to a 200 A breaker panel.",
            "Panel upgrade for the new EV charger and kitchen remodel.",
            "Replace the recalled panel; breakers trip under load.",
        ),
        (
            LineTemplate(S, "200 A panel upgrade", 285000),
            LineTemplate(M, "200 A main breaker panel", 0, 41000, taxable=False),
        ),
        (
            LineTemplate(M, "AFCI breaker", 5500, 3200, ("4", "6", "8")),
            LineTemplate(M, "Whole-home surge protector", 29500, 9000),
            PERMIT,
        ),
        crew=2,
    ),
    JobTypeSpec(
        "Appliance repair", ("Appliance repair",), 90, BillingType.TIME_AND_MATERIALS, "#ec4899", ("Refrigerator", "Dishwasher"),
        (
            "Refrigerator not cooling; the freezer is fine.",
            "Dishwasher leaves standing water after the cycle.",
            "Ice maker stopped making ice; water line checked by the owner.",
            "Dishwasher shows error E24 and will not drain.",
        ),
        (LineTemplate(S, "Appliance diagnostic", 9900),),
        (
            LineTemplate(M, "Defrost heater assembly", 16500, 4800),
            LineTemplate(M, "Drain pump", 18900, 5600),
            LineTemplate(L, "Repair labour (hour)", 11500, 3200, ("1", "1.5")),
        ),
    ),
    JobTypeSpec(
        "Walk-in cooler service", ("Refrigeration",), 120, BillingType.TIME_AND_MATERIALS, "#06b6d4", ("Walk-in cooler", "Reach-in freezer"),
        (
            "Walk-in cooler holding at 46°F; product moved to the reach-ins.",
            "Evaporator iced over; the defrost timer may be stuck.",
            "Reach-in freezer alarm overnight; compressor cycles on and off.",
        ),
        (LineTemplate(S, "Refrigeration diagnostic", 14900),),
        (
            LineTemplate(M, "Evaporator fan motor", 21500, 6800),
            LineTemplate(M, "R-404A refrigerant (lb)", 11000, 3400, ("3", "4", "6")),
            LineTemplate(L, "Refrigeration labour (hour)", 14500, 4400, ("2", "3")),
            LineTemplate(F, "After-hours surcharge", 15000),
        ),
        commercial_only=True,
    ),
    JobTypeSpec(
        "Maintenance plan visit", ("HVAC",), 60, BillingType.AGREEMENT, "#22c55e", ("Furnace", "AC condenser", "Rooftop unit"),
        (
            "Spring maintenance-plan visit: cooling check and coil cleaning.",
            "Fall maintenance-plan visit: heating check and filter change.",
        ),
        (LineTemplate(S, "Seasonal maintenance (covered by plan)", 0),),
        (LineTemplate(M, "Pleated filter 16x25x1", 1800, 500, ("1", "2")),),
    ),
)  # fmt: skip
JOB_TYPE_BY_NAME = {spec.name: spec for spec in JOB_TYPES}

NOTES = (
    "Customer prefers a text 30 minutes before arrival.",
    "Bring shoe covers: new carpet throughout.",
    "Quoted by phone; confirm the price on site before starting.",
    "Left a voicemail to confirm the arrival window.",
    "Customer asked for the old parts to be left on site.",
    "Same issue last winter; see the previous job for the readings.",
    "Building manager must be present for roof access.",
    "Payment by card on completion; the customer has no account.",
)
HOLD_NOTES = {
    "parts": ("Compressor on order, ETA Thursday.", "Control board back-ordered at the supplier.", "Waiting for the OEM part under warranty."),
    "customer": ("Customer reviewing the replacement quote.", "Customer out of town until next week.", "Waiting for the landlord's approval."),
    "permit": ("Waiting for the city permit.", "Inspection booked; work resumes after approval."),
    "other": ("Roof access needs the building manager's key.", "Waiting for the gas utility to restore service."),
}
CANCEL_NOTES = ("Customer found another contractor.", "Problem resolved itself; customer cancelled.", "Duplicate request.", "Customer sold the property.")


class Generator:
    """Picks believable values; all randomness comes from the given Random."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng

    def person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(SURNAMES)

    def customer_name(self, kind: str, surname: str) -> str:
        if kind == "commercial":
            return f"{surname} {self.rng.choice(BUSINESSES)}"
        return f"{self.rng.choice(FIRST_NAMES)} {surname}"

    def phone(self) -> str:
        return f"({self.rng.choice(('312', '773', '872', '847', '708', '630'))}) 555-{self.rng.randrange(100, 10000):04d}"

    def email(self, name: str, n: int) -> str:
        local = "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".")
        return f"{local}{n}@example.com"

    def address(self) -> dict:
        """A street address near one of the ZIP centroids, with coordinates to six decimals."""
        rng = self.rng
        city, postal, lat, lng = rng.choice(PLACES)
        return {
            "street": f"{rng.randrange(100, 9999)} {rng.choice(STREETS)}",
            "city": city,
            "region": "IL",
            "postal_code": postal,
            "lat": Decimal(f"{lat + rng.uniform(-0.012, 0.012):.6f}"),
            "lng": Decimal(f"{lng + rng.uniform(-0.015, 0.015):.6f}"),
        }

    def access(self, kind: str) -> tuple[str, str]:
        rng = self.rng
        notes = rng.choice(COMMERCIAL_ACCESS if kind == "commercial" else RESIDENTIAL_ACCESS) if rng.random() < 0.35 else ""
        gate = f"#{rng.randrange(1000, 10000)}" if rng.random() < 0.2 else ""
        return notes, gate

    def asset(self, name: str) -> dict:
        rng = self.rng
        make, model = rng.choice(ASSETS[name])
        year = rng.randrange(2004, 2025)
        return {
            "name": name,
            "make": make,
            "model": model,
            "serial": f"{make[:2].upper()}{year % 100:02d}{rng.randrange(10**6, 10**7)}",
            "install_year": year,
        }

    def job_type_for(self, kind: str) -> JobTypeSpec:
        """Residential work is mostly HVAC and plumbing; commercial sites add refrigeration."""
        weights = (22, 14, 6, 14, 4, 14, 0, 10) if kind == "residential" else (20, 10, 4, 8, 6, 4, 30, 14)
        return self.rng.choices(JOB_TYPES, weights=weights)[0]

    def priority(self) -> int:
        return self.rng.choices(Priority.values, weights=(15, 55, 22, 8))[0]

    def lines(self, spec: JobTypeSpec, extras: int | None = None) -> list[tuple[LineTemplate, Decimal]]:
        rng = self.rng
        count = rng.choice((0, 1, 1, 2)) if extras is None else extras
        picked = list(spec.base) + rng.sample(spec.extras, min(count, len(spec.extras)))
        return [(t, Decimal(rng.choice(t.quantities))) for t in picked]


@dataclass
class Company:
    """The rows every seeder needs: users by username, technicians and job types by name."""

    users: dict[str, User]
    technicians: list[Technician]
    tech_skills: dict[int, frozenset[str]]  # technician id → skill names
    job_types: dict[str, JobType]
    skills: dict[str, Skill]
    tags: dict[str, Tag]
    created_users: list[str] = field(default_factory=list)

    def qualified(self, spec: JobTypeSpec) -> list[Technician]:
        need = set(spec.skills)
        return [t for t in self.technicians if need <= self.tech_skills[t.pk]]


def ensure_company() -> Company:
    """Create what is missing of the demo company's configuration (skills, tags, job types, the
    sign-in accounts of every role, technicians with shifts); existing rows are left as they are."""
    with transaction.atomic():
        skills = {name: Skill.objects.get_or_create(name=name)[0] for name in SKILLS}
        tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}
        job_types = {}
        for spec in JOB_TYPES:
            job_type, created = JobType.objects.get_or_create(
                name=spec.name,
                defaults={"default_duration_minutes": spec.minutes, "default_billing_type": spec.billing, "color": spec.color},
            )
            if created:
                job_type.required_skills.set([skills[s] for s in spec.skills])
            job_types[spec.name] = job_type

        existing = {u.username: u for u in User.objects.filter(username__in=[a[0] for a in OFFICE_ACCOUNTS] + [t[0] for t in TECHNICIANS])}
        # One hash for every demo account: PBKDF2 is deliberately slow (~0.3 s a hash) and these
        # accounts share a published password anyway.
        password = make_password(DEMO_PASSWORD)
        created: list[str] = []
        for username, first, last, role in OFFICE_ACCOUNTS:
            if username not in existing:
                existing[username] = User.objects.create(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@northwind.example",
                    role=role,
                    is_staff=role == Role.ADMIN,
                    is_superuser=role == Role.ADMIN,
                    password=password,
                )
                created.append(username)
        technicians: list[Technician] = []
        for i, (username, first, last, skill_names, cost) in enumerate(TECHNICIANS):
            user = existing.get(username)
            if user is None:
                user = existing[username] = User.objects.create(
                    username=username, first_name=first, last_name=last, email=f"{username}@northwind.example", role=Role.TECHNICIAN, password=password
                )
                created.append(username)
            technician = Technician.objects.filter(user=user).first()
            if technician is None:
                # Home bases spread over the service area, so route planning has real distances.
                _, _, lat, lng = PLACES[(i * 7) % len(PLACES)]
                technician = Technician.objects.create(
                    user=user,
                    home_lat=Decimal(f"{lat:.6f}"),
                    home_lng=Decimal(f"{lng:.6f}"),
                    hourly_cost_cents=cost,
                    color=TECH_COLORS[i % len(TECH_COLORS)],
                )
                technician.skills.set([skills[s] for s in skill_names])
                shifts = [WeeklyShift(technician=technician, weekday=d, start=time(7), end=time(17)) for d in range(5)]
                if username in SATURDAY_CREW:
                    shifts.append(WeeklyShift(technician=technician, weekday=5, start=time(8), end=time(13)))
                WeeklyShift.objects.bulk_create(shifts)
            technicians.append(technician)
        tech_skills = {t.pk: frozenset(t.skills.values_list("name", flat=True)) for t in technicians}
    return Company(existing, technicians, tech_skills, job_types, skills, tags, created)


def accounts_table() -> str:
    """The sign-in accounts that exist, one line each (the README's run command shows this)."""
    names = [a[0] for a in OFFICE_ACCOUNTS] + [t[0] for t in TECHNICIANS]
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    rows = [(u.username, DEMO_PASSWORD, u.get_role_display()) for u in (users.get(n) for n in names) if u is not None]
    if not rows:
        return "No demo accounts."
    widths = [max(len(r[i]) for r in [("username", "password", "role"), *rows]) for i in range(3)]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
    return "\n".join([line(("username", "password", "role")), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)])
