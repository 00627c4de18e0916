"""Regenerate ``units.xlsx`` (the sample units import): ``venv/bin/python seed/samples/make_units_xlsx.py``.

Units of the customers in ``customers.csv`` (matched by "Kundennummer"), German headers, with two bad rows on
purpose: row 6 has an IMEI whose check digit is wrong, row 10 a VIN with the letter O (VINs never have I, O, Q).
"""
from pathlib import Path

from openpyxl import Workbook

HEADERS = ["Kundennummer", "Art", "Hersteller", "Modell", "Seriennummer", "IMEI", "FIN", "Kennzeichen", "Baujahr"]
ROWS = [
    ["K-1001", "Gerät", "Apple", "iPhone 13", "F2LXK1ABCD", "490154203237518", "", "", ""],
    ["K-1001", "Gerät", "Samsung", "Galaxy S21", "R58N12ABCDE", "356938035643809", "", "", ""],
    ["K-1002", "Fahrzeug", "Mercedes-Benz", "Sprinter", "", "", "WDB9066331S123456", "M-SO 1234", "2019"],
    ["K-1003", "Gerät", "Google", "Pixel 7", "GP7-0003", "353918057326718", "", "", ""],
    ["K-1003", "Gerät", "Apple", "iPad Air", "DMPXQ2ABC", "490154203237519", "", "", ""],
    ["K-1004", "Fahrzeug", "MAN", "TGL 12.250", "", "", "WMAN13ZZ5KY123456", "HH-KN 401", "2020"],
    ["K-1004", "Fahrzeug", "MAN", "TGL 12.250", "", "", "WMAN13ZZ7KY123457", "HH-KN 402", "2020"],
    ["K-1004", "Anlage", "Thermo King", "T-680R", "TK-680-0042", "", "", "", "2021"],
    ["K-1004", "Fahrzeug", "Volvo", "FL", "", "", "YV2RT40A5OB123456", "HH-KN 403", "2018"],
    ["K-1005", "Gerät", "Lenovo", "ThinkPad T14", "PF-3ABC12", "", "", "", ""],
    ["K-1007", "Anlage", "Bosch", "Wärmepumpe CS7000", "BWP-77001", "", "", "", "2022"],
    ["K-1007", "Fahrzeug", "Volkswagen", "Caddy", "", "", "WVWZZZ2KZLX123456", "L-EM 77", "2020"],
    ["K-1008", "Gerät", "Apple", "MacBook Pro", "C02XK1ABMD6M", "", "", "", ""],
    ["K-1010", "Anlage", "Schindler", "Aufzug 3300", "SCH-3300-1", "", "", "", "2015"],
    ["K-1012", "Gerät", "Sony", "Xperia 10", "XP10-0012", "358240051111110", "", "", ""],
    ["K-1013", "Gerät", "Bosch", "Performance Line CX", "BDU-4510", "", "", "", ""],
    ["K-1014", "Gerät", "Fairphone", "Fairphone 4", "FP4-0014", "352099001761481", "", "", ""],
    ["K-1016", "Anlage", "Rational", "iCombi Pro", "RAT-61-0016", "", "", "", "2021"],
    ["K-1019", "Fahrzeug", "Toyota", "Corolla Hybrid", "", "", "SB1Z93BE10E123456", "DO-TH 19", "2021"],
    ["K-1020", "Gerät", "Apple", "Watch Series 8", "WS8-0020", "", "", "", ""],
]


def build(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Geräte"
    sheet.append(HEADERS)
    for row in ROWS:
        sheet.append([int(v) if v.isdecimal() and len(v) == 4 else v for v in row])
    book.save(path)


if __name__ == "__main__":
    build(Path(__file__).with_name("units.xlsx"))
