"""The fixed tables behind the demo data: channels, locations, products, names, weights."""

from __future__ import annotations

from typing import TypeVar

_T = TypeVar("_T")


# _id, name, kind, currency, country, time_zone, UTC offset (hours, for daytime shifts)
_CHANNELS = (
    ("ch_flagship", "Brand flagship store", "ONLINE_SHOP", "CNY", "CN", "Asia/Shanghai", 8),
    ("ch_miniapp", "Brand mini-program", "ONLINE_SHOP", "CNY", "CN", "Asia/Shanghai", 8),
    ("ch_freshmart", "FreshMart supermarkets", "SUPERMARKET", "CNY", "CN", "Asia/Shanghai", 8),
    ("ch_villagelink", "VillageLink rural outlets", "RURAL_OUTLET", "CNY", "CN", "Asia/Shanghai",
     8),
    ("ch_us_market", "US marketplace", "OVERSEAS", "USD", "US", "America/Los_Angeles", -8),
    ("ch_my_market", "Malaysia marketplace", "OVERSEAS", "MYR", "MY", "Asia/Kuala_Lumpur", 8),
    ("ch_th_market", "Thailand marketplace", "OVERSEAS", "THB", "TH", "Asia/Bangkok", 7),
)
_DOMESTIC = ("ch_flagship", "ch_miniapp", "ch_freshmart", "ch_villagelink")
_OVERSEAS = ("ch_us_market", "ch_my_market", "ch_th_market")

# slug, name, kind, city; channel from the slug prefix; in China unless noted in _ABROAD
_LOCATIONS = (
    ("fm_shanghai_xuhui", "FreshMart Shanghai Xuhui", "STORE", "Shanghai"),
    ("fm_beijing_chaoyang", "FreshMart Beijing Chaoyang", "STORE", "Beijing"),
    ("fm_shenzhen_nanshan", "FreshMart Shenzhen Nanshan", "STORE", "Shenzhen"),
    ("fm_chengdu_jinjiang", "FreshMart Chengdu Jinjiang", "STORE", "Chengdu"),
    ("vl_anji", "VillageLink Anji outlet", "OUTLET", "Anji County, Zhejiang"),
    ("vl_tonglu", "VillageLink Tonglu outlet", "OUTLET", "Tonglu County, Zhejiang"),
    ("vl_yuanyang", "VillageLink Yuanyang outlet", "OUTLET", "Yuanyang County, Yunnan"),
    ("vl_menghai", "VillageLink Menghai outlet", "OUTLET", "Menghai County, Yunnan"),
    ("vl_leishan", "VillageLink Leishan outlet", "OUTLET", "Leishan County, Guizhou"),
    ("vl_lankao", "VillageLink Lankao outlet", "OUTLET", "Lankao County, Henan"),
    ("wh_hangzhou", "Hangzhou fulfilment centre", "WAREHOUSE", "Hangzhou"),
    ("wh_wuhan", "Wuhan fulfilment centre", "WAREHOUSE", "Wuhan"),
    ("wh_los_angeles_bonded", "Los Angeles bonded warehouse", "WAREHOUSE", "Los Angeles"),
)
_LOCATION_CHANNEL = {
    "fm_": "ch_freshmart", "vl_": "ch_villagelink", "wh_hangzhou": "ch_flagship",
    "wh_wuhan": "ch_miniapp", "wh_los_angeles": "ch_us_market",
}
_ABROAD = {"Los Angeles": ("US", "America/Los_Angeles")}

# CNY per one unit of the currency.
_FX = {"CNY": "1", "USD": "7.1240", "MYR": "1.6180", "THB": "0.2085"}

_BRANDS = {
    "tea": "Cloudpeak", "snacks": "Sunnymoon", "grain & oil": "Riverfield",
    "personal care": "Greenhome", "household": "Greenhome",
    "fresh produce": "Riverfield", "baby": "Little Sprout",
}
# slug (without "sku_"), name, category, reference price in CNY fen
_PRODUCTS = (
    ("oolong_tea_250g", "Tieguanyin oolong tea 250 g", "tea", 6800),
    ("longjing_green_tea_100g", "Longjing green tea 100 g", "tea", 12800),
    ("pu_erh_tea_cake_357g", "Ripe pu-erh tea cake 357 g", "tea", 15800),
    ("jasmine_tea_bags_50", "Jasmine tea bags, 50 count", "tea", 2990),
    ("dianhong_black_tea_200g", "Dianhong black tea 200 g", "tea", 8800),
    ("white_tea_baimudan_150g", "Bai Mudan white tea 150 g", "tea", 9800),
    ("chrysanthemum_tea_80g", "Chrysanthemum tea 80 g", "tea", 2490),
    ("tea_gift_box_4x100g", "Tea gift box 4 x 100 g", "tea", 29800),
    ("sunflower_seeds_500g", "Roasted sunflower seeds 500 g", "snacks", 1590),
    ("dried_mango_200g", "Dried mango slices 200 g", "snacks", 1990),
    ("spicy_beef_jerky_150g", "Spicy beef jerky 150 g", "snacks", 3990),
    ("rice_crackers_400g", "Rice crackers 400 g", "snacks", 1290),
    ("daily_mixed_nuts_30x25g", "Daily mixed nuts 30 x 25 g", "snacks", 8990),
    ("sesame_brittle_300g", "Sesame brittle 300 g", "snacks", 1890),
    ("seaweed_snack_12x4g", "Crispy seaweed snack 12 x 4 g", "snacks", 2290),
    ("hawthorn_rolls_250g", "Hawthorn fruit rolls 250 g", "snacks", 990),
    ("jasmine_rice_5kg", "Jasmine rice 5 kg", "grain & oil", 5990),
    ("northeast_rice_10kg", "Northeast japonica rice 10 kg", "grain & oil", 8990),
    ("peanut_oil_5l", "Pressed peanut oil 5 L", "grain & oil", 12900),
    ("rapeseed_oil_5l", "Rapeseed oil 5 L", "grain & oil", 7990),
    ("whole_wheat_flour_2_5kg", "Whole wheat flour 2.5 kg", "grain & oil", 2590),
    ("yellow_millet_1kg", "Yellow millet 1 kg", "grain & oil", 1690),
    ("buckwheat_noodles_1kg", "Buckwheat noodles 1 kg", "grain & oil", 1990),
    ("sesame_oil_500ml", "Toasted sesame oil 500 ml", "grain & oil", 3290),
    ("herbal_shampoo_750ml", "Herbal shampoo 750 ml", "personal care", 4990),
    ("bamboo_toothbrush_4pk", "Bamboo toothbrush, 4 pack", "personal care", 1990),
    ("mint_toothpaste_180g", "Mint toothpaste 180 g", "personal care", 1590),
    ("aloe_body_wash_1l", "Aloe body wash 1 L", "personal care", 3990),
    ("hand_cream_50ml", "Hand cream 50 ml", "personal care", 2990),
    ("sunscreen_spf50_60ml", "Sunscreen SPF 50, 60 ml", "personal care", 8990),
    ("pocket_tissues_24pk", "Pocket tissues, 24 pack", "personal care", 1290),
    ("laundry_liquid_3kg", "Laundry liquid 3 kg", "household", 4590),
    ("dish_soap_1_5kg", "Dish soap 1.5 kg", "household", 1690),
    ("kitchen_paper_6_rolls", "Kitchen paper, 6 rolls", "household", 2390),
    ("facial_tissue_18pk", "Facial tissue, 18 pack", "household", 3990),
    ("trash_bags_100pk", "Trash bags, 100 pack", "household", 1590),
    ("steel_water_bottle_500ml", "Steel water bottle 500 ml", "household", 6900),
    ("bamboo_chopsticks_10_pairs", "Bamboo chopsticks, 10 pairs", "household", 1990),
    ("fuji_apples_2kg", "Fuji apples 2 kg", "fresh produce", 2990),
    ("navel_oranges_2_5kg", "Navel oranges 2.5 kg", "fresh produce", 3490),
    ("free_range_eggs_30", "Free-range eggs, 30 count", "fresh produce", 4590),
    ("cherry_tomatoes_1kg", "Cherry tomatoes 1 kg", "fresh produce", 1890),
    ("shiitake_mushrooms_500g", "Shiitake mushrooms 500 g", "fresh produce", 2790),
    ("bok_choy_500g", "Bok choy 500 g", "fresh produce", 690),
    ("infant_formula_stage1_800g", "Infant formula stage 1, 800 g", "baby", 26800),
    ("baby_diapers_m_60", "Baby diapers size M, 60 count", "baby", 11900),
    ("baby_wipes_6x80", "Baby wipes 6 x 80", "baby", 4990),
    ("baby_rice_cereal_250g", "Baby rice cereal 250 g", "baby", 3890),
)
# chance that a channel lists a product, by category (fresh produce never ships abroad)
_LISTING = {
    "ch_flagship": {"fresh produce": 0.0, "*": 0.9},
    "ch_miniapp": {"*": 0.85},
    "ch_freshmart": {"fresh produce": 1.0, "baby": 0.7, "tea": 0.6, "*": 0.85},
    "ch_villagelink": {"tea": 0.4, "baby": 0.5, "*": 0.65},
    "overseas": {"fresh produce": 0.0, "*": 0.5},
}
_PRICE_FACTOR = {
    "ch_flagship": 1.0, "ch_miniapp": 0.95, "ch_freshmart": 1.03, "ch_villagelink": 0.92,
}
_OVERSEAS_MARKUP = 1.35

# (given names, family names); Chinese names are written family name first
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "CN": (("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yang", "Jun", "Yan", "Tao", "Xiuying",
            "Haoran", "Yuxuan", "Zihan", "Mingyu", "Jiayi", "Xinyi", "Hao", "Lina", "Qiang"),
           ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
            "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao")),
    "US": (("James", "Mary", "Michael", "Jennifer", "David", "Linda", "Emily", "Daniel",
            "Sarah", "Kevin", "Ashley", "Brian", "Olivia", "Ethan"),
           ("Smith", "Johnson", "Garcia", "Miller", "Davis", "Martinez", "Nguyen", "Brown",
            "Lee", "Wilson", "Anderson", "Taylor")),
    "MY": (("Aisyah", "Hafiz", "Nurul", "Farah", "Amir", "Wei Ling", "Chee Keong", "Mei Xin",
            "Priya", "Arjun", "Kavitha"),
           ("Ismail", "Rahman", "Abdullah", "Yusof", "Tan", "Lim", "Ong", "Wong", "Raman",
            "Subramaniam")),
    "TH": (("Somchai", "Suda", "Niran", "Kanya", "Anong", "Prasert", "Malee", "Kittisak",
            "Ploy", "Narong"),
           ("Saetang", "Wongsakul", "Srisuk", "Chaiyaporn", "Boonmee", "Rattanakorn",
            "Thongchai", "Phromma")),
}
_HOME_WEIGHTS = {"ch_flagship": 25, "ch_miniapp": 20, "ch_freshmart": 20, "ch_villagelink": 15,
                 "ch_us_market": 8, "ch_my_market": 6, "ch_th_market": 6}
_IDENTITY_SOURCE = {"ch_miniapp": "signup", "ch_freshmart": "loyalty-card",
                    "ch_villagelink": "agent"}  # else "marketplace-oauth"
_PAY_METHODS = {  # (methods, integer weights) by channel kind
    "ONLINE_SHOP": (("ALIPAY", "WALLET"), (6, 4)),
    "SUPERMARKET": (("CARD", "ALIPAY", "WALLET"), (3, 4, 3)),
    "RURAL_OUTLET": (("CASH", "WALLET", "CASH_ON_DELIVERY"), (8, 7, 5)),
    "OVERSEAS": (("CARD", "WALLET"), (13, 7)),
}
_VISIT_SOURCES = {
    "STORE_VISIT": ("walk-in", "walk-in", "qr-code", "flyer"),
    "APP_SESSION": ("push", "direct", "wechat"),
    "PAGE_VIEW": ("search", "ad", "wechat", "direct", "social"),
    "LIVESTREAM_VIEW": ("livestream",),
}
_TIERS = ((10_000, "PLATINUM"), (5_000, "GOLD"), (1_500, "SILVER"), (0, "BRONZE"))


def _bag(options: tuple[_T, ...], weights: tuple[int, ...]) -> tuple[_T, ...]:
    """Options repeated by integer weight: ``rng.choice(bag)`` is a fast weighted pick."""
    return tuple(option for option, w in zip(options, weights, strict=True) for _ in range(w))


_LINE_COUNTS = _bag((1, 2, 3, 4, 5), (35, 30, 18, 10, 7))
_QUANTITIES = _bag((1, 2, 3, 4, 6), (60, 22, 10, 5, 3))
_ONLINE_VISITS = _bag(("APP_SESSION", "PAGE_VIEW", "LIVESTREAM_VIEW"), (9, 8, 3))
_ANONYMOUS_CHANNELS = _bag(tuple(c[0] for c in _CHANNELS), (30, 25, 20, 10, 6, 5, 4))
