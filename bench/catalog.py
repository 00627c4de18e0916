"""Fixed vocabulary the benchmark shop is built from: names, reference lists, units, faults and parts."""
from __future__ import annotations

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Katrin", "Lukas",
    "Mara", "Nico", "Olga", "Paul", "Rosa", "Stefan", "Tina", "Uwe", "Vera", "Walter", "Yara", "Zoe",
)
LAST_NAMES = (
    "Adler", "Becker", "Schmidt", "Fischer", "Weber", "Meyer", "Wagner", "Hoffmann", "Koch", "Richter",
    "Klein", "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann", "Hartmann", "Lange", "Krause", "Lehmann",
)
COMPANY_WORDS = (
    "Alpine", "Harbor", "Summit", "Nordic", "Vertex", "Cedar", "Atlas", "Granite", "Beacon", "Falcon",
    "Orbit", "Pioneer", "Quartz", "Riverside", "Sterling", "Titan", "Union", "Vista", "Willow", "Zenith",
)
COMPANY_KINDS = ("Logistics", "Telecom", "Rentals", "Fleet Services", "Electronics", "Builders", "Mobility")
RESELLER_KINDS = ("Phone Store", "Device Outlet", "Auto Trade", "Repair Partners", "Mobile Shop")
LEGAL_FORMS = ("GmbH", "AG", "KG", "Ltd", "e.K.")

STREETS = (
    "Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schulstraße", "Bergstraße", "Mühlweg",
    "Am Markt", "Ringstraße", "Industriestraße", "Hafenstraße", "Kirchplatz",
)
CITIES = (
    ("Berlin", "BE", "10115"), ("Hamburg", "HH", "20095"), ("München", "BY", "80331"), ("Köln", "NW", "50667"),
    ("Frankfurt am Main", "HE", "60311"), ("Stuttgart", "BW", "70173"), ("Leipzig", "SN", "04109"),
    ("Dresden", "SN", "01067"), ("Hannover", "NI", "30159"), ("Nürnberg", "BY", "90402"),
)
ADDRESS_LABELS = ("Home", "Office", "Warehouse", "Branch", "Workshop")

SERVICE_TYPES = (
    ("Diagnostics", 45), ("Screen replacement", 60), ("Battery replacement", 45), ("Data recovery", 120),
    ("Annual inspection", 90), ("Brake service", 120), ("Oil and filter change", 60), ("Tyre change", 45),
    ("Warranty repair", 90), ("Calibration", 60),
)
SERVICE_LOCATIONS = (
    ("Berlin Mitte workshop", "Berlin", "10115"), ("Hamburg Hafen depot", "Hamburg", "20095"),
    ("München Süd service centre", "München", "80331"), ("Mobile field service", "Köln", "50667"),
)
SHIPPING_METHODS = (("DHL Parcel", "DHL"), ("UPS Standard", "UPS"), ("DPD Express", "DPD"), ("Own courier", None))

#: (kind, make, model) — vehicles get a VIN and a year, devices a serial number and often an IMEI.
UNIT_MODELS = (
    ("device", "Apple", "iPhone 14"), ("device", "Apple", "iPhone 15 Pro"), ("device", "Samsung", "Galaxy S23"),
    ("device", "Google", "Pixel 8"), ("device", "Lenovo", "ThinkPad T14"), ("device", "Dell", "Latitude 5440"),
    ("device", "Apple", "MacBook Air M2"), ("vehicle", "Volkswagen", "Transporter T6"),
    ("vehicle", "Ford", "Transit Custom"), ("vehicle", "Mercedes-Benz", "Sprinter"), ("vehicle", "Opel", "Vivaro"),
    ("vehicle", "Toyota", "Corolla"), ("equipment", "Bosch", "GSR 18V drill"), ("equipment", "Kärcher", "HD 5/15"),
    ("equipment", "Hilti", "TE 30 hammer"), ("equipment", "Zebra", "ZT411 printer"),
)
PHONE_MAKES = {"Apple", "Samsung", "Google"}

FAULTS = {
    "device": ("Cracked screen", "Battery drains quickly", "Does not power on", "Water damage",
               "Charging port loose", "Keyboard keys stuck", "Overheats under load", "No network signal"),
    "vehicle": ("Brakes squeal", "Engine warning light", "Annual inspection due", "Oil leak",
                "Air conditioning weak", "Rattle from front axle", "Tyres worn", "Starter motor fails"),
    "equipment": ("Motor stops under load", "Calibration drift", "Cable damaged", "Print head faded",
                  "Pressure too low", "Trigger switch faulty"),
}
LABOUR = {
    "device": ("Diagnose fault", "Replace display assembly", "Replace battery", "Clean and dry board",
               "Replace charging port", "Replace keyboard", "Reapply thermal paste", "Data backup"),
    "vehicle": ("Diagnose fault", "Replace brake pads", "Oil and filter change", "Inspection to checklist",
                "Replace starter motor", "Air conditioning service", "Mount and balance tyres", "Axle repair"),
    "equipment": ("Diagnose fault", "Replace motor brushes", "Calibrate", "Replace cable", "Replace print head",
                  "Service pump", "Replace switch"),
}
#: (part number, description, unit price in cents)
PARTS = {
    "device": (("DSP-114", "Display assembly", 18900), ("BAT-220", "Battery", 5900), ("PRT-031", "Charging port", 2400),
               ("KBD-440", "Keyboard", 7900), ("TPS-001", "Thermal paste", 900), ("SCR-010", "Screw set", 300)),
    "vehicle": (("BRK-207", "Brake pad set", 8900), ("OIL-5W30", "Engine oil 5W-30, 1 l", 1400),
                ("FLT-120", "Oil filter", 1200), ("STR-330", "Starter motor", 24900),
                ("TYR-205", "Tyre 205/55 R16", 9500), ("ACG-134", "Refrigerant R134a", 4500)),
    "equipment": (("BRS-018", "Motor brush set", 1900), ("CBL-300", "Power cable", 2900),
                  ("PHD-411", "Print head", 32900), ("SWT-022", "Trigger switch", 3400), ("SEL-050", "Seal kit", 2200)),
}
LABOUR_RATES = (9500, 9500, 9500, 12000)  # cents per hour: standard, a quarter at the specialist rate
PAYMENT_METHODS = ("card", "card", "transfer", "transfer", "cash", "online", "cheque")
CANCEL_REASONS = ("Customer withdrew", "Repair not economical", "Duplicate order", "Unit replaced under warranty")
DECLINE_REASONS = ("Too expensive", "Will buy a new unit", "Found another shop")
