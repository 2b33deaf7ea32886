"""The demo store's fixed tables: staff, category tree, products, addresses, channels.

Kept apart from :mod:`siyu.devtools.demo` so the seeding steps stay readable. Prices are in
fen; a product's SKUs are the cartesian product of its spec dimensions, in order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from random import Random

from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.catalog.service import SkuDraft
from siyu.identity.rules import Role

DEMO_PASSWORD = "siyu-demo-2026"

# (username, display name, role); every account uses DEMO_PASSWORD.
STAFF: list[tuple[str, str, Role]] = [
    ("admin", "店主 Admin", Role.owner),
    ("operator", "运营 小王", Role.operator),
    ("analyst", "数据分析 小陈", Role.analyst),
    ("support", "客服 小李", Role.support),
]

# Top-level category → leaves, in display order.
CATEGORIES: dict[str, list[str]] = {
    "美妆护肤": ["口红", "眼影", "面膜", "精华"],
    "食品饮料": ["咖啡", "茶叶", "零食"],
    "家居生活": ["香薰", "收纳", "床品"],
    "母婴": ["纸尿裤", "辅食", "洗护"],
    "服饰": ["T恤", "袜子", "配饰"],
}

T, P, R = ProductRole.traffic, ProductRole.profit, ProductRole.premium


@dataclass(frozen=True)
class DemoProduct:
    category: str
    title: str
    subtitle: str
    role: ProductRole
    dims: dict[str, list[str]]
    prices: int | list[int]  # one price for every SKU, or one per SKU
    status: ProductStatus = ProductStatus.on_sale
    low_stock: bool = False  # a few SKUs nearly sold out, for the storefront's hint


PRODUCTS: list[DemoProduct] = [
    # 美妆护肤
    DemoProduct("口红", "丝绒雾面口红", "显白不拔干 · 持妆8小时", P,
                {"颜色": ["#999 正红", "#520 豆沙", "#316 枫叶棕"]}, 12900),
    DemoProduct("口红", "水光镜面唇釉 试色装", "新客尝鲜 9.9 元包邮", T,
                {"颜色": ["蜜桃乌龙", "西柚气泡"]}, 990),
    DemoProduct("口红", "臻享口红礼盒", "三支装丝绒礼盒 · 节日送礼首选", R,
                {"规格": ["三支装礼盒"]}, 59900),
    DemoProduct("眼影", "九色大地色眼影盘", "粉质细腻 · 新手友好", P,
                {"颜色": ["大地色", "蜜桃色", "焦糖色"]}, 8900),
    DemoProduct("眼影", "单色珠光眼影", "一抹提亮 · 卧蚕神器", T,
                {"颜色": ["香槟金", "玫瑰粉"]}, 1990, low_stock=True),
    DemoProduct("面膜", "玻尿酸补水面膜", "深层补水 · 敏感肌可用", T,
                {"规格": ["5片装", "10片装", "20片装"]}, [990, 1790, 3290]),
    DemoProduct("面膜", "烟酰胺亮肤面膜", "提亮肤色 · 28天焕亮", P,
                {"规格": ["10片装", "20片装"]}, [6900, 12900]),
    DemoProduct("面膜", "睡眠修护冻膜", "免洗夜间修护", P, {"规格": ["100g"]}, 9900),
    DemoProduct("精华", "小棕瓶修护精华", "熬夜急救 · 修护屏障", R,
                {"规格": ["30ml", "50ml", "100ml"]}, [46900, 69900, 119900]),
    DemoProduct("精华", "维C焕亮精华液", "新品即将上市", P, {"规格": ["30ml"]}, 15900,
                status=ProductStatus.draft),
    # 食品饮料
    DemoProduct("咖啡", "云南小粒咖啡豆", "保山产区 · 当周新鲜烘焙", P,
                {"规格": ["中度烘焙 250g", "深度烘焙 250g", "中度烘焙 500g"]},
                [5900, 5900, 9900]),
    DemoProduct("咖啡", "冻干速溶咖啡", "3秒速溶 · 冷水也能冲", P,
                {"口味": ["美式", "拿铁", "燕麦拿铁"], "规格": ["12颗", "24颗"]},
                [3900, 6900, 4500, 7900, 4900, 8500]),
    DemoProduct("咖啡", "挂耳咖啡尝鲜装", "两包 9.9 · 办公室必备", T,
                {"口味": ["耶加雪菲", "曼特宁"]}, 990),
    DemoProduct("咖啡", "意式半自动咖啡机", "20Bar 高压萃取 · 一年质保", R,
                {"颜色": ["奶油白", "复古绿"]}, 199900),
    DemoProduct("茶叶", "明前西湖龙井", "核心产区 · 手工炒制", R,
                {"规格": ["50g", "100g", "250g 礼盒"]}, [16800, 29800, 68800]),
    DemoProduct("茶叶", "云南古树普洱茶饼", "2019年春茶 · 越陈越香", R,
                {"规格": ["357g"]}, 39800),
    DemoProduct("茶叶", "冷泡茶三角包", "冷水 3 分钟出汤", T,
                {"口味": ["白桃乌龙", "茉莉绿茶", "蜜香红茶"]}, 990),
    DemoProduct("茶叶", "武夷正山小种红茶", "桂圆香 · 口感醇厚", P,
                {"规格": ["100g", "200g"]}, [6800, 12800]),
    DemoProduct("零食", "每日坚果", "6种坚果果干 · 科学配比", P,
                {"规格": ["7袋装", "30袋装"]}, [3990, 14900]),
    DemoProduct("零食", "手撕风干牛肉干", "内蒙古草原牛 · 高蛋白", P,
                {"口味": ["原味", "香辣", "五香"]}, 4990),
    DemoProduct("零食", "海苔夹心脆片", "儿童也爱吃的健康零食", T,
                {"口味": ["芝麻", "巴旦木"]}, 990),
    # 家居生活
    DemoProduct("香薰", "无火藤条香薰", "卧室卫生间持久留香", P,
                {"规格": ["白茶 150ml", "雪松 150ml", "小苍兰 150ml"]}, 8900),
    DemoProduct("香薰", "大豆蜡香薰蜡烛", "天然大豆蜡 · 无烟", P,
                {"规格": ["小号 80g", "大号 200g"]}, [5900, 9900]),
    DemoProduct("收纳", "桌面收纳盒", "抽屉式 · 可叠加", P,
                {"颜色": ["奶白", "雾蓝", "燕麦"]}, 2990),
    DemoProduct("收纳", "真空压缩袋", "换季收纳 · 省 80% 空间", P,
                {"规格": ["6件套", "12件套"]}, [3900, 6900]),
    DemoProduct("床品", "60支长绒棉四件套", "新疆长绒棉 · 亲肤柔滑", R,
                {"尺码": ["1.5m床", "1.8m床"], "颜色": ["云白", "雾霾蓝"]},
                [69900, 69900, 79900, 79900]),
    DemoProduct("床品", "天然乳胶枕", "泰国进口乳胶 · 护颈", R,
                {"规格": ["标准款", "高低款"]}, [29900, 32900]),
    DemoProduct("床品", "真丝眼罩", "22姆米桑蚕丝 · 遮光助眠", P,
                {"颜色": ["香槟", "墨绿"]}, 6900, low_stock=True),
    # 母婴
    DemoProduct("纸尿裤", "轻薄透气纸尿裤", "3D 透气 · 12小时干爽", P,
                {"尺码": ["NB", "S", "M", "L", "XL"]}, [7900, 8900, 9900, 9900, 10900]),
    DemoProduct("纸尿裤", "成长拉拉裤", "360° 弹力腰围", P, {"尺码": ["L", "XL", "XXL"]}, 10900),
    DemoProduct("辅食", "有机高铁米粉", "6月龄+ · 有机认证", P,
                {"口味": ["原味", "南瓜", "胡萝卜"]}, 6800),
    DemoProduct("辅食", "宝宝磨牙饼干", "入口即化 · 无添加蔗糖", T,
                {"口味": ["原味", "香蕉"]}, 990),
    DemoProduct("洗护", "婴儿手口湿巾", "纯水配方 · 加厚珍珠纹", P,
                {"规格": ["80抽×3包", "80抽×10包"]}, [2990, 8900]),
    DemoProduct("洗护", "婴儿润肤霜", "秋冬限定 · 已售罄", P, {"规格": ["50g"]}, 8800,
                status=ProductStatus.off_sale),
    # 服饰
    DemoProduct("T恤", "重磅纯棉T恤", "260g 新疆棉 · 不易变形", P,
                {"颜色": ["白色", "黑色"], "尺码": ["S", "M", "L", "XL"]}, 9900),
    DemoProduct("T恤", "冰丝防晒衣", "UPF50+ · 轻薄透气", P,
                {"颜色": ["浅灰", "樱花粉"], "尺码": ["M", "L"]}, 12900),
    DemoProduct("袜子", "精梳棉中筒袜 5双装", "新人专享 9.9 元", T,
                {"颜色": ["混色", "黑色"]}, 990),
    DemoProduct("袜子", "美利奴羊毛袜", "冬季新品筹备中", P, {"尺码": ["均码"]}, 5900,
                status=ProductStatus.draft),
    DemoProduct("配饰", "羊绒围巾", "内蒙古山羊绒 · 礼盒包装", R,
                {"颜色": ["驼色", "燕麦", "酒红"]}, 89900),
    DemoProduct("配饰", "桑蚕丝发圈", "不勒发 · 三色可选", P,
                {"颜色": ["黑色", "香槟", "豆沙"]}, 3900),
]  # fmt: skip

# WeChat entry scenes (场景值) and how often demo shoppers arrive through them.
SCENE_WEIGHTS: dict[int, int] = {
    1001: 20,  # 发现栏小程序主入口
    1007: 25,  # 单人聊天会话中的小程序消息卡片 (a friend's share)
    1047: 25,  # 扫描小程序码 (offline QR codes, channel-coded)
    1035: 15,  # 公众号自定义菜单
    1089: 15,  # 微信聊天主界面下拉
}


@dataclass(frozen=True)
class DemoChannel:
    code: str
    name: str
    group: str  # a channel group (siyu.channel.rules.GROUPS)
    note: str
    daily_spend_fen: tuple[int, int]  # entered each day of the last month (0: free)


# The channel codes the demo traffic comes through: printed mini-program codes (scene
# 1047, ``c=CODE``) and the Moments ad's landing page (scene 1045, ``c=CODE`` in its path).
CHANNELS: list[DemoChannel] = [
    DemoChannel("STORE-SH01", "上海张江店 收银台海报", "qr", "门店收银台 A4 海报", (0, 0)),
    DemoChannel("STORE-HZ02", "杭州西湖店 包装袋", "qr", "购物袋印码", (3000, 6000)),
    DemoChannel("DY2026", "抖音主页 小程序码", "qr", "主页置顶视频", (5000, 12000)),
    DemoChannel("XHS-NOV", "小红书 11 月种草笔记", "qr", "达人笔记挂码", (8000, 20000)),
    DemoChannel("GZH-MENU", "公众号菜单 进店逛逛", "official_account", "", (0, 0)),
    DemoChannel("WX-ADS-1212", "朋友圈广告 双12预热", "ads", "朋友圈信息流", (30000, 80000)),
]
QR_CHANNELS = [c.code for c in CHANNELS if c.group != "ads"]
AD_CHANNELS = [c.code for c in CHANNELS if c.group == "ads"]

_ADDRESS_FIELDS = ("name", "province", "city", "district", "detail")
ADDRESSES: list[dict[str, str]] = [
    dict(zip(_ADDRESS_FIELDS, row, strict=True))
    for row in [
        ("王芳", "上海市", "上海市", "浦东新区", "张江路 88 弄 3 号 1201 室"),
        ("李娜", "浙江省", "杭州市", "西湖区", "文三路 259 号 2 幢 502"),
        ("张伟", "广东省", "深圳市", "南山区", "科技园南区 粤海街道 16 栋 808"),
        ("刘洋", "北京市", "北京市", "朝阳区", "望京 SOHO T3 1706"),
        ("陈静", "四川省", "成都市", "武侯区", "天府三街 199 号 6 栋 2 单元 903"),
        ("杨敏", "江苏省", "南京市", "鼓楼区", "中山北路 30 号 1102"),
        ("赵磊", "湖北省", "武汉市", "洪山区", "光谷大道 77 号 金融港 B 座"),
        ("黄婷", "福建省", "厦门市", "思明区", "环岛南路 3088 号 7 楼"),
        ("周杰", "陕西省", "西安市", "雁塔区", "高新路 52 号 3 单元 401"),
        ("吴倩", "广东省", "广州市", "天河区", "珠江新城 华夏路 10 号 2503"),
    ]
]

ORDER_NOTES = ["", "", "", "", "请尽快发货", "不要放快递柜，谢谢", "送人的，不要放价格单"]
REFUND_REASONS = ["不喜欢/不想要", "尺码不合适", "商品与描述不符", "收到商品有破损"]


def sku_drafts(n: int, product: DemoProduct, rng: Random) -> list[SkuDraft]:
    """The product's SKUs: one per combination of its spec values, with seeded stock,
    strike-through price and cost (their photos are drawn by the seeding)."""
    combos = list(itertools.product(*product.dims.values()))
    prices = product.prices if isinstance(product.prices, list) else [product.prices] * len(combos)
    margin = {"traffic": (0.80, 0.95), "profit": (0.40, 0.55), "premium": (0.30, 0.42)}
    drafts = []
    for k, (combo, price) in enumerate(zip(combos, prices, strict=True)):
        stock = rng.randint(5, 9) if product.low_stock and k == 0 else rng.randint(80, 600)
        drafts.append(
            SkuDraft(
                spec=dict(zip(product.dims, combo, strict=True)),
                price_fen=price,
                stock=stock,
                original_price_fen=(price * rng.choice([12, 13, 15]) // 1000) * 100 or None,
                cost_fen=int(price * rng.uniform(*margin[product.role.value])),
                sku_code=f"DEMO{n:03d}{k:02d}",
            )
        )
    return drafts


# What shoppers call themselves (WeChat's 头像昵称填写); some leave it empty.
NICKNAMES = [
    "张小明", "李婷婷", "王芳", "陈晨", "刘洋", "小鹿乱撞", "晴天", "阿杰", "Lily", "糖糖",
    "周周", "吴佳怡", "木子李", "赵雪", "孙悦", "一只猫", "慢慢来", "Coco", "杨帆", "黄小厨",
    "林深见鹿", "许诺", "何静", "郭子", "马丁", "胡萝卜", "罗曼", "梁小北", "宋宋", "唐果",
]  # fmt: skip
NICKNAME_SHARE = 0.7


def pick_nickname(rng: Random) -> str | None:
    """A shopper's nickname, or None for one who did not give any."""
    return rng.choice(NICKNAMES) if rng.random() < NICKNAME_SHARE else None
