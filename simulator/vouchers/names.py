"""Who hands documents over, as the documents name them: business names, addresses, banks, counterparties, goods."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.vouchers.taxonomy import as_date

DISTRICTS = ("Xuhui", "Chaoyang", "Nanshan", "Tianhe", "Xihu", "Wuhou", "Jianghan", "Gulou", "Yuzhong", "Gusu")

STREETS = ("Renmin", "Jiefang", "Zhongshan", "Heping", "Jianshe", "Xinhua", "Wenhua", "Changjiang", "Huaihai", "Binhe")

BRAND_WORDS = ("Huaxin", "Jinfeng", "Hongda", "Xinyuan", "Tianrui", "Dongsheng", "Kangda", "Fuli", "Yongxing", "Ruitai")

TRADES = ("Trading", "Foods", "Packaging", "Agricultural Supplies", "Logistics", "Supply Chain", "Commerce")

BANKS = (
    "Industrial and Commercial Bank of China",
    "China Construction Bank",
    "Agricultural Bank of China",
    "Bank of China",
    "China Merchants Bank",
    "Postal Savings Bank of China",
)

PLATFORMS = ("Zhejiang Tmall Network Co., Ltd.", "JD.com Trade Co., Ltd.", "Pinduoduo", "Douyin E-commerce")

BRANDS = ("Greenfield Dairy Co., Ltd.", "Sunrise Beverage Group", "Golden Grain Foods Co., Ltd.", "Clearwater Drinks")

INSURERS = (
    "PICC Property and Casualty Co., Ltd.",
    "Ping An Property & Casualty Insurance",
    "China Pacific Property Insurance",
    "China United Property Insurance",
)

LENDERS = ("Rural Commercial Bank", "Village and Township Bank", "Microcredit Co., Ltd.", "Consumer Finance Co., Ltd.")

CUSTOMS = ("Shanghai Customs", "Ningbo Customs", "Shenzhen Customs", "Qingdao Customs", "Xiamen Customs")

CREDIT_REASONS = ("Goods returned", "Price adjustment", "Damaged in transit", "Volume rebate", "Short delivery")

PAYMENT_TERMS = ("30 days net", "60 days net", "Cash on delivery", "50% advance, balance on delivery")

RETAILERS = ("Wholesale Market", "Cash and Carry", "Hypermarket", "Building Supplies", "Farm Supplies Store")

SHOP_NAMES = {
    "online_merchant": ("E-commerce Studio", "Online Shop", "Trading Studio"),
    "offline_merchant": ("Noodle House", "Fruit Shop", "Convenience Store", "Bakery", "Tea House"),
    "farmer": ("Family Farm", "Planting Cooperative", "Orchard"),
    "distributor": ("Trading Co., Ltd.", "Commerce and Trade Co., Ltd.", "Supply Chain Co., Ltd."),
    "store": ("Supermarket", "Grocery Store", "Mini Mart"),
}

GOODS = {  # (item, unit price range) for invoices: what the segment buys and sells
    "buys": {
        "online_merchant": (
            ("Packaging cartons (100)", 60, 180),
            ("Apparel stock lot", 800, 4000),
            ("Phone cases (50)", 150, 600),
        ),
        "offline_merchant": (
            ("Cooking oil 5L", 60, 120),
            ("Rice 25kg", 90, 160),
            ("Disposable tableware (case)", 40, 120),
        ),
        "farmer": (("Compound fertiliser 50kg", 120, 220), ("Maize seed 1kg", 30, 90), ("Pesticide 1L", 40, 160)),
        "distributor": (
            ("Beverage (case of 24)", 40, 90),
            ("Dairy drinks (case)", 50, 110),
            ("Snack assortment (case)", 60, 150),
        ),
        "store": (("Bottled water (24x550ml)", 18, 30), ("Instant noodles (case)", 40, 70), ("Detergent 2kg", 20, 45)),
    },
    "sells": {
        "online_merchant": (("T-shirts", 30, 120), ("Phone accessories", 15, 80), ("Home textiles", 40, 200)),
        "offline_merchant": (
            ("Catering (group order)", 200, 2000),
            ("Fruit baskets", 80, 300),
            ("Baked goods (order)", 100, 800),
        ),
        "farmer": (("Rice (tonne)", 2500, 4000), ("Vegetables (tonne)", 1500, 4000), ("Maize (tonne)", 2000, 2800)),
        "distributor": (
            ("Beverage (case of 24)", 50, 110),
            ("Dairy drinks (case)", 60, 130),
            ("Snack assortment (case)", 70, 170),
        ),
        "store": (("Groceries (company order)", 200, 1500), ("Office supplies", 100, 800), ("Gift boxes", 150, 600)),
    },
}

SERVICES = (("Courier services", 200, 3000), ("Online advertising", 500, 5000), ("Equipment maintenance", 300, 2000))

EQUIPMENT = {
    "offline_merchant": (
        ("Commercial oven", 8000, 30000),
        ("Display freezer", 3000, 9000),
        ("Espresso machine", 6000, 20000),
    ),
    "farmer": (
        ("Tractor 504 (50 HP)", 40000, 90000),
        ("Rice transplanter", 20000, 60000),
        ("Grain dryer", 30000, 120000),
    ),
    "distributor": (
        ("Light truck 4.2m", 80000, 150000),
        ("Forklift 3t", 40000, 90000),
        ("Cold room 20m3", 30000, 80000),
    ),
    "store": (("Display freezer", 3000, 9000), ("Shelving system", 5000, 20000), ("POS terminal set", 2000, 6000)),
}

FOOD_ITEMS = (
    "Prepackaged food sales",
    "Bulk food sales",
    "Catering services (hot meals)",
    "Bakery products (made on site)",
)


@dataclass(frozen=True)
class Holder:
    """The submitting entity as documents see it."""

    index: int
    entity_id: str
    segment: str
    quality: float
    size: float
    revenue: float  # true expected monthly sales, CNY
    registered: dt.date
    owner: str
    name: str
    city: str
    district: str
    address: str
    small_scale: bool  # small-scale VAT taxpayer: invoices at 3 %


def business_names(entities: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The entity's business name, or one built from the owner's surname, the city and the trade."""
    given = entities["business_name"] if "business_name" in entities else pd.Series(None, index=entities.index)
    picks = rng.integers(0, 5, len(entities))
    built = [
        f"{city} {owner.split()[0]} {SHOP_NAMES[seg][k % len(SHOP_NAMES[seg])]}" if seg in SHOP_NAMES else owner
        for city, owner, seg, k in zip(entities["city"], entities["owner_name"], entities["segment"], picks)
    ]
    return np.where(
        given.isna().to_numpy() | (given.astype(str) == ""), np.array(built, dtype=object), given.to_numpy(object)
    )


def holders(entities: pd.DataFrame, rng: np.random.Generator) -> list[Holder]:
    n = len(entities)
    names = business_names(entities, rng)
    district = rng.integers(0, len(DISTRICTS), n)
    number, street = rng.integers(1, 400, n), rng.integers(0, len(STREETS), n)
    small = rng.random(n) < np.where(entities["size"].to_numpy(float) < 3.0, 0.8, 0.3)
    return [
        Holder(
            index=i,
            entity_id=str(e.entity_id),
            segment=str(e.segment),
            quality=float(e.quality),
            size=float(e.size),
            revenue=max(float(e.monthly_revenue), 1000.0),
            registered=as_date(e.registered_date),
            owner=str(e.owner_name),
            name=str(names[i]),
            city=str(e.city),
            district=DISTRICTS[district[i]],
            address=f"No. {number[i]}, {STREETS[street[i]]} Road, {DISTRICTS[district[i]]} District, {e.city}",
            small_scale=bool(small[i]),
        )
        for i, e in enumerate(entities.itertuples(index=False))
    ]


def pick(options: tuple, rng: np.random.Generator):
    """One of `options`, uniformly."""
    return options[int(rng.integers(0, len(options)))]


def company(h: Holder, rng: np.random.Generator) -> str:
    return f"{h.city} {pick(BRAND_WORDS, rng)} {pick(TRADES, rng)} Co., Ltd."


def bank(h: Holder) -> str:
    return f"{BANKS[h.index % len(BANKS)]}, {h.city} {h.district} Sub-branch"
