"""Abbreviations spelled out before embedding: does MiniLM rank jargon better? (DB-free study)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.glossary_expansion DEV_DIR...

Terse organizations write "ANR < 0.3% Android" under an objective called "Stability"; the model
knows neither. Each text the engine embeds gets the definitions of the common abbreviations it
contains appended ("MTTR" -> "MTTR (MTTR: mean time to repair)"), from a general-knowledge list
of business, operations, IT, people, safety and public-sector terms. Then `evals.research` runs
as usual (leave-one-org-out over the fit organizations), so its rows compare with a plain
`python -m evals.research` on the same folders. The list was written after reading the engine's
errors on dev-styles, so dev-styles is not a clean test of it. Measured, not adopted
(evals/README.md).
"""

from __future__ import annotations

import re
import sys

from evals import research

TERMS = {
    # finance
    "ARR": "annual recurring revenue",
    "MRR": "monthly recurring revenue",
    "NRR": "net revenue retention",
    "GRR": "gross revenue retention",
    "ARPU": "average revenue per user",
    "ARPDAU": "average revenue per daily active user",
    "LTV": "customer lifetime value",
    "CLV": "customer lifetime value",
    "CAC": "customer acquisition cost",
    "CPA": "cost per acquisition",
    "CPI": "cost per install",
    "ROAS": "return on ad spend",
    "ROI": "return on investment",
    "EBITDA": "operating profit",
    "COGS": "cost of goods sold",
    "P&L": "profit and loss",
    "opex": "operating expenses",
    "Opex": "operating expenses",
    "OPEX": "operating expenses",
    "capex": "capital expenditure",
    "Capex": "capital expenditure",
    "CAPEX": "capital expenditure",
    "DSO": "days sales outstanding",
    "DPO": "days payable outstanding",
    "AR": "accounts receivable",
    "AP": "accounts payable",
    "GMV": "gross merchandise value",
    "AOV": "average order value",
    "YoY": "year over year",
    "QoQ": "quarter over quarter",
    "MoM": "month over month",
    "FX": "foreign exchange",
    # customers, marketing, product
    "NPS": "net promoter score",
    "tNPS": "transactional net promoter score",
    "eNPS": "employee net promoter score",
    "CSAT": "customer satisfaction",
    "CES": "customer effort score",
    "DAU": "daily active users",
    "WAU": "weekly active users",
    "MAU": "monthly active users",
    "UA": "user acquisition",
    "SEO": "search engine optimisation",
    "SEM": "search marketing",
    "CTR": "click-through rate",
    "CRM": "customer relationship management",
    "B2B": "business customers",
    "B2C": "consumers",
    "SMB": "small and medium businesses",
    "SKU": "product line item",
    "FTUE": "first-time user experience",
    "UX": "user experience",
    "UI": "user interface",
    "MVP": "minimum viable product",
    "GTM": "go to market",
    "ICP": "ideal customer profile",
    "SQL": "sales qualified lead",
    "MQL": "marketing qualified lead",
    # operations, quality, supply chain
    "OTIF": "on time in full delivery",
    "OEE": "overall equipment effectiveness",
    "RFT": "right first time",
    "FPY": "first pass yield",
    "QC": "quality control",
    "QA": "quality assurance",
    "CAPA": "corrective and preventive action",
    "SOP": "standard operating procedure",
    "WIP": "work in progress",
    "MRO": "maintenance, repair and operations",
    "PM": "preventive maintenance",
    "KPI": "key performance indicator",
    "SLA": "service level agreement",
    "SLO": "service level objective",
    "TAT": "turnaround time",
    "AHT": "average handling time",
    "FCR": "first contact resolution",
    "3PL": "third-party logistics",
    "DC": "distribution centre",
    "PUDO": "pick-up and drop-off points",
    # IT, engineering, reliability
    "MTTR": "mean time to repair",
    "MTTA": "mean time to acknowledge incidents",
    "MTBF": "mean time between failures",
    "ANR": "application not responding",
    "CDN": "content delivery network",
    "API": "application programming interface",
    "CI": "continuous integration",
    "CD": "continuous delivery",
    "SRE": "site reliability engineering",
    "DR": "disaster recovery",
    "SOC": "security operations centre",
    "SIEM": "security monitoring",
    "MFA": "multi-factor authentication",
    "SSO": "single sign-on",
    "IAM": "identity and access management",
    "ERP": "enterprise resource planning system",
    "BSS": "business support systems",
    "OSS": "operations support systems",
    "NOC": "network operations centre",
    "WAN": "wide area network",
    "LAN": "local area network",
    "FTTP": "fibre to the premises",
    "HP": "homes passed",
    "POP": "point of presence",
    "OLT": "optical line terminal",
    "p95": "95th percentile latency",
    "p99": "99th percentile latency",
    "SaaS": "software as a service",
    "IaaS": "cloud infrastructure",
    "infra": "infrastructure",
    "Infra": "infrastructure",
    "Eng": "engineering",
    "eng": "engineering",
    "ops": "operations",
    "Ops": "operations",
    "Sev1": "severity 1 incident",
    "P1": "priority 1 incident",
    "P2": "priority 2 incident",
    "GDPR": "data protection",
    # people
    "HR": "human resources",
    "L&D": "learning and development",
    "DEI": "diversity, equity and inclusion",
    "D&I": "diversity and inclusion",
    "FTE": "full-time staff",
    "PTO": "paid time off",
    "OKR": "objectives and key results",
    # safety, energy, environment
    "HSE": "health, safety and environment",
    "H&S": "health and safety",
    "EHS": "environment, health and safety",
    "LTI": "lost time injury",
    "LTIF": "lost time injury frequency",
    "LTIR": "lost time injury rate",
    "TRIR": "total recordable injury rate",
    "TRIF": "total recordable injury frequency",
    "PPE": "personal protective equipment",
    "PTW": "permit to work",
    "ESG": "environmental, social and governance",
    "GHG": "greenhouse gas emissions",
    "CO2": "carbon dioxide emissions",
    "CO2e": "carbon emissions",
    "kWh": "kilowatt hours of energy",
    "MWh": "megawatt hours of energy",
    "O&M": "operations and maintenance",
    "WTG": "wind turbine generator",
    "SCADA": "supervisory control and data acquisition",
    "HV": "high voltage",
    # public sector, health, education
    "FY": "fiscal year",
    "GAO": "government accountability office",
    "IT": "information technology",
    "EHR": "electronic health record",
    "ED": "emergency department",
    "A&E": "accident and emergency",
    "LOS": "length of stay",
    "GP": "general practitioner",
    "K-12": "school education",
    "STEM": "science, technology, engineering and mathematics",
}
_PATTERN = re.compile(
    r"(?<![\w&-])("
    + "|".join(sorted(map(re.escape, TERMS), key=len, reverse=True))
    + r")(?![\w&-])"
)


def expand(text: str) -> str:
    """The text with its abbreviations' definitions appended, each once, in order."""
    seen = []
    for m in _PATTERN.finditer(text):
        if m.group(1) not in seen:
            seen.append(m.group(1))
    if not seen:
        return text
    return text + " (" + "; ".join(f"{t}: {TERMS[t]}" for t in seen) + ")"


def main(argv: list[str] | None = None) -> None:
    plain = research.CachedEmbedder.__call__
    research.CachedEmbedder.__call__ = lambda self, texts: plain(self, [expand(t) for t in texts])
    sys.argv = [sys.argv[0], *(sys.argv[1:] if argv is None else argv)]
    try:
        research.main()
    finally:
        research.CachedEmbedder.__call__ = plain


if __name__ == "__main__":
    main()
