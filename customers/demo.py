"""A realistic demo shop, written as the seller centre writes its exports.

`demo_exports_write()` writes an 订单报表 (`ExportOrderList<ts>.csv`) + 宝贝报表 (`ExportOrderDetailList<ts>.csv`)
pair, and optionally a 退款管理 export, for any number of orders, byte for byte in the layouts of
tests/fixtures/samples (GB18030, CRLF, every field double-quoted, ids as `="…"` formulas, the header's trailing spaces).
`seed_demo` imports them as a demo shop and `bench/import_bench.py` times the importer on them.

The writer streams: one order is made, written and forgotten, and a buyer's details are derived from the buyer's
number by hashing, never kept in a table, so a million orders take constant memory. The same seed writes the
same bytes. No pandas here (house rule: pandas only in customers/importing/), only string formatting.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from random import Random
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHANGHAI_OFFSET = 8 * 3600  # China has had no daylight saving since 1991: a fixed offset formats fastest
ENCODING = "gb18030"
LAYOUTS = ("v2023", "v2017")
DEFAULT_SHOP_NAME = "小林的杂货铺"

# ---------------------------------------------------------------------------------------------------------------
# Layouts: (header as exported, field). Field: "{key}" a quoted value, "={key}" an `="…"` id, "!{key}" written
# verbatim (already quoted or a formula), anything else a constant written quoted.
# ---------------------------------------------------------------------------------------------------------------
_BUYER_COLUMNS_TAIL = [  # shared by both 订单报表 layouts, from 买家应付货款 to 买家实际支付积分
    ("买家应付货款", "{goods}"),
    ("买家应付邮费", "{shipping}"),
    ("买家支付积分", "0"),
    ("总金额", "{total}"),
    ("返点积分", "0"),
    ("买家实际支付金额", "{paid}"),
    ("买家实际支付积分", "0"),
    ("订单状态", "{status}"),
    ("买家留言", "{message}"),
    ("收货人姓名", "{receiver}"),
    ("收货地址 ", "{address}"),
    ("运送方式", "快递"),
    ("联系电话 ", ""),
    ("联系手机", "{mobile}"),
]
_ORDER_MIDDLE = [  # from 宝贝标题 to 预约门店 (v2017 ends here)
    ("宝贝标题 ", "{titles}"),
    ("宝贝种类 ", "{kinds}"),
    ("物流单号 ", "{tracking}"),
    ("物流公司", "{carrier}"),
    ("订单备注", "{memo}"),
    ("宝贝总数量", "{quantity}"),
    ("店铺Id", "0"),
    ("店铺名称", "{shop}"),
    ("订单关闭原因", "{close_reason}"),
    ("卖家服务费", "0"),
    ("买家服务费", "0元"),
    ("发票抬头", ""),
    ("是否手机订单", "{mobile_order}"),
    ("分阶段订单信息", ""),
    ("特权订金订单id", '!=""'),
    ("是否上传合同照片", "否"),
    ("是否上传小票", "否"),
    ("是否代付", "否"),
    ("定金排名", ""),
    ("修改后的sku", ""),
    ("修改后的收货地址", ""),
    ("异常信息", ""),
    ("天猫卡券抵扣", ""),
    ("集分宝抵扣", ""),
    ("是否是O2O交易", ""),
]
ORDER_LAYOUTS = {
    "v2023": [
        ("订单编号", "={order_no}"),
        ("买家会员名", "{nick}"),
        ("买家会员昵称", "{display_nick}"),
        ("支付单号", "!{pay_no}"),
        ("支付详情", ""),
        *_BUYER_COLUMNS_TAIL,
        ("虚拟号过期时间", "{virtual_expires}"),
        ("订单创建时间", "{created}"),
        ("订单付款时间 ", "{paid_at}"),
        *_ORDER_MIDDLE,
        ("新零售交易类型", ""),
        ("新零售导购门店名称", ""),
        ("新零售导购门店id", ""),
        ("新零售发货门店名称", ""),
        ("新零售发货门店id", ""),
        ("退款金额", "{refund}"),
        ("预约门店", ""),
        ("确认收货时间", "{received_at}"),
        ("打款商家金额", "{settled}"),
        ("含应开票给个人的个人红包", ""),
        ("是否信用购", "否"),
        ("体验期结束时间", ""),
        ("前N有礼", ""),
        ("配送类型", ""),
        ("直播返现状态", ""),
        ("返现金额", ""),
        ("延迟发货自动赔付金额", ""),
        ("新零售成交门店昵称", ""),
        ("新零售成交门店id", ""),
        ("新零售成交经销商id", ""),
        ("预售订单", "否"),
        ("发货时间", "{shipped_at}"),
        ("商家备忘", "{memo}"),
        ("主订单编号", "={order_no}"),
    ],
    "v2017": [
        ("订单编号", "={order_no}"),
        ("买家会员名", "{nick}"),
        ("买家支付宝账号", "{alipay}"),
        *_BUYER_COLUMNS_TAIL,
        ("订单创建时间", "{created}"),
        ("订单付款时间 ", "{paid_at}"),
        *_ORDER_MIDDLE,
        ("退款金额", "{refund}"),
        ("预约门店", ""),
    ],
}
LINE_LAYOUTS = {
    "v2023": [
        ("子订单编号", "={line_no}"),
        ("主订单编号", "={order_no}"),
        ("标题", "{title}"),
        ("价格", "{price}"),
        ("购买数量", "{quantity}"),
        ("外部系统编号", "{code}"),
        ("商品属性", "{sku}"),
        ("套餐信息", ""),
        ("备注", ""),
        ("订单状态", "{status}"),
        ("商家编码", "{code}"),
        ("支付单号", "!{pay_no}"),
        ("买家应付货款", "{goods}"),
        ("买家实际支付金额", "{paid}"),
        ("退款状态", "{refund_status}"),
        ("退款金额", "{refund}"),
        ("订单创建时间", "{created}"),
        ("订单付款时间", "{paid_at}"),
        ("商品id", "{item_id}"),
        ("分阶段订单信息", ""),
        ("主订单备注", "{memo}"),
        ("主订单买家留言", "{message}"),
        ("发货时间", "{shipped_at}"),
        ("物流单号", "{tracking}"),
        ("物流公司", "{carrier}"),
        ("是否赔付", "否"),
        ("赔付金额", "0.00"),
        ("赔付出账时间", ""),
    ],
    # The 2017 宝贝报表 has no line number, and every row ends with a stray comma (one field more than the header).
    "v2017": [
        ("订单编号", "={order_no}"),
        ("标题", "{title}"),
        ("价格", "{price}"),
        ("购买数量", "{quantity}"),
        ("外部系统编号", "{code}"),
        ("商品属性", "{sku}"),
        ("套餐信息", ""),
        ("备注", ""),
        ("订单状态", "{status}"),
        ("商家编码", "{code}"),
    ],
}
REFUND_LAYOUT = [
    ("订单编号", "={order_no}"),
    ("退款编号", "={refund_no}"),
    ("支付宝交易号", "!{pay_no}"),
    ("订单付款时间", "{paid_at}"),
    ("商品编码", "{code}"),
    ("退款完结时间", "{finished_at}"),
    ("买家实际支付金额", "{paid}"),
    ("宝贝标题", "{title}"),
    ("买家退款金额", "{refund}"),
    ("手工退款/系统退款", "系统退款"),
    ("是否需要退货", "{needs_return}"),
    ("退款的申请时间", "{applied_at}"),
    ("超时时间", ""),
    ("退款状态", "{refund_status}"),
    ("货物状态", "{goods_status}"),
    ("退货物流信息", ""),
    ("发货物流信息", ""),
    ("客服介入状态", "客服未介入"),
    ("卖家真实姓名", ""),
    ("卖家真实姓名新", ""),
    ("卖家退货地址", ""),
    ("卖家邮编", ""),
    ("卖家电话", ""),
    ("卖家手机", ""),
    ("退货物流单号", "{return_tracking}"),
    ("退货物流公司", "{return_carrier}"),
    ("买家退款原因", "{reason}"),
    ("买家退款说明", ""),
    ("买家退货时间", ""),
    ("责任方", ""),
    ("售中或售后", "{phase}"),
    ("商家备注", ""),
    ("完结时间", "{finished_at}"),
    ("部分退款/全部退款", "{scope}"),
    ("审核操作人", ""),
    ("举证超时", ""),
    ("是否零秒响应", "否"),
    ("退款操作人", ""),
    ("退款原因标签", ""),
    ("业务类型", "淘宝"),
    ("是否帮他退款", "否"),
    ("帮他退款操作账号", ""),
]


def _header(layout: list[tuple[str, str]]) -> str:
    return ",".join(f'"{name}"' for name, _ in layout) + "\r\n"


def _row_format(layout: list[tuple[str, str]], *, trailing_comma: bool = False) -> str:
    """One %-format string per layout: formatting a row is then a single C-level operation."""
    parts = []
    for _, field in layout:
        if field.startswith("={"):
            parts.append(f'="%({field[2:-1]})s"')
        elif field.startswith("!{"):
            parts.append(f"%({field[2:-1]})s")
        elif field.startswith("!"):
            parts.append(field[1:].replace("%", "%%"))
        elif field.startswith("{"):
            parts.append(f'"%({field[1:-1]})s"')
        else:
            parts.append('"' + field.replace("%", "%%") + '"')
    return ",".join(parts) + ("," if trailing_comma else "") + "\r\n"


def _words(text: str) -> list[str]:
    return text.split()


# ---------------------------------------------------------------------------------------------------------------
# The shop's world: regions, people, products. Weighted lists are expanded so that a pick is one index.
# None of these strings holds an ASCII double quote, so values are written without escaping.
# ---------------------------------------------------------------------------------------------------------------
_REGIONS = [  # province, city, districts, postcode, weight (roughly where Taobao's parcels go)
    ("广东省", "广州市", "天河区 越秀区 海珠区 番禺区 白云区", "510000", 8),
    ("广东省", "深圳市", "南山区 福田区 宝安区 龙岗区 罗湖区", "518000", 8),
    ("广东省", "东莞市", "东城街道 南城街道 长安镇 虎门镇", "523000", 3),
    ("广东省", "佛山市", "禅城区 南海区 顺德区", "528000", 3),
    ("浙江省", "杭州市", "西湖区 上城区 拱墅区 滨江区 余杭区 萧山区", "310000", 7),
    ("浙江省", "宁波市", "鄞州区 海曙区 江北区", "315000", 3),
    ("浙江省", "温州市", "鹿城区 瓯海区 龙湾区", "325000", 2),
    ("江苏省", "南京市", "玄武区 鼓楼区 建邺区 江宁区", "210000", 4),
    ("江苏省", "苏州市", "姑苏区 吴中区 相城区 昆山市", "215000", 4),
    ("江苏省", "无锡市", "梁溪区 滨湖区 新吴区", "214000", 2),
    ("上海", "上海市", "浦东新区 徐汇区 静安区 闵行区 杨浦区 宝山区", "200000", 6),
    ("北京", "北京市", "朝阳区 海淀区 东城区 西城区 丰台区 昌平区", "100000", 5),
    ("天津", "天津市", "和平区 南开区 河西区 滨海新区", "300000", 2),
    ("重庆", "重庆市", "渝中区 江北区 渝北区 九龙坡区", "400000", 2),
    ("山东省", "济南市", "历下区 市中区 槐荫区", "250000", 2),
    ("山东省", "青岛市", "市南区 市北区 黄岛区 崂山区", "266000", 3),
    ("河南省", "郑州市", "金水区 二七区 中原区 管城回族区", "450000", 3),
    ("河南省", "济源市", "济源市", "000000", 1),  # no postcode in the export, as in the samples
    ("湖北省", "武汉市", "武昌区 洪山区 江汉区 汉阳区", "430000", 3),
    ("湖南省", "长沙市", "岳麓区 芙蓉区 天心区 雨花区", "410000", 3),
    ("四川省", "成都市", "武侯区 锦江区 青羊区 成华区 金牛区", "610000", 4),
    ("福建省", "福州市", "鼓楼区 台江区 仓山区", "350000", 2),
    ("福建省", "厦门市", "思明区 湖里区 集美区", "361000", 2),
    ("安徽省", "合肥市", "蜀山区 包河区 庐阳区", "230000", 2),
    ("河北省", "石家庄市", "长安区 桥西区 裕华区", "050000", 2),
    ("陕西省", "西安市", "雁塔区 碑林区 未央区", "710000", 2),
    ("辽宁省", "沈阳市", "和平区 沈河区 皇姑区", "110000", 2),
    ("辽宁省", "大连市", "中山区 沙河口区 甘井子区", "116000", 1),
    ("黑龙江省", "哈尔滨市", "南岗区 道里区 香坊区", "150000", 1),
    ("吉林省", "长春市", "朝阳区 南关区 绿园区", "130000", 1),
    ("江西省", "南昌市", "东湖区 西湖区 红谷滩区", "330000", 1),
    ("广西壮族自治区", "南宁市", "青秀区 兴宁区 西乡塘区", "530000", 1),
    ("云南省", "昆明市", "五华区 盘龙区 官渡区", "650000", 1),
    ("贵州省", "贵阳市", "南明区 云岩区 观山湖区", "550000", 1),
    ("山西省", "太原市", "小店区 迎泽区 杏花岭区", "030000", 1),
    ("内蒙古自治区", "呼和浩特市", "新城区 赛罕区", "010000", 1),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区 沙依巴克区", "830000", 1),
    ("甘肃省", "兰州市", "城关区 七里河区", "730000", 1),
    ("海南省", "海口市", "龙华区 美兰区", "570000", 1),
    ("宁夏回族自治区", "银川市", "兴庆区 金凤区", "750000", 1),
]
REGIONS = [
    (province, city, district, postcode)
    for province, city, districts, postcode, weight in _REGIONS
    for district in districts.split()
    for _ in range(weight)
]
_STREETS = _words(
    "建设路 滨江大道 学府路 长江西路 中山北路 科技园南路 湖滨路 天府大道 文三路 新华街 人民路 解放路 "
    "和平路 青年路 黄河路 朝阳路 迎宾大道 胜利街 光明路 幸福路"
)
_ESTATES = _words(
    "软件园 名都国际 金色家园 万科城 绿城桂花园 东方明珠公寓 翠湖天地 锦绣苑 阳光花园 创业大厦 碧桂园 "
    "保利花园 世纪城 海棠湾 紫金苑"
)
_SURNAMES = (
    "王" * 9
    + "李" * 9
    + "张" * 8
    + "刘" * 7
    + "陈" * 6
    + "杨" * 4
    + "黄" * 3
    + "赵" * 3
    + "吴" * 3
    + "周" * 3
    + "徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏"
    "韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
SURNAMES = [*_SURNAMES, "欧阳", "上官", "司马", "诸葛"]
_GIVEN_FEMALE = _words(
    "芳 娜 秀英 敏 静 丽 艳 娟 霞 秀兰 燕 玲 桂英 丹 萍 红 婷 雪 琳 晶 颖 慧 佳怡 欣怡 梓涵 诗琪 "
    "雨萱 子涵 思彤 一诺 汐萍 丽子 晓雯 美琪 雅婷"
)
_GIVEN_MALE = _words(
    "伟 强 磊 军 洋 勇 杰 涛 明 超 刚 平 辉 鹏 华 飞 鑫 波 斌 宇 浩 凯 健 俊 帆 帅 旭 宁 龙 林 子轩 "
    "浩然 宇轩 博文 俊杰 志强 建华 晨阳"
)
# Two-character words, so that word + word + digits decodes one way only: generated member names are unique.
_NICK_WORDS_A = _words(
    "小猫 阳光 饭团 橘子 大白 小鱼 糖果 月亮 星星 清风 棉花 可乐 西瓜 奶茶 豆豆 兔子 熊猫 咖啡 微笑 "
    "晴天 蓝天 夏天 雪花 柠檬 甜心 布丁 芒果 草莓 海盐 云朵 琉璃 青柠 暖暖 萌萌 乐乐 木子 花花 果果 "
    "团子 丸子"
)
_NICK_WORDS_B = _words(
    "向阳 爱吃 快跑 不乖 睡觉 宝宝 妈妈 爸爸 同学 小姐 先生 女孩 少年 日记 时光 旅行 星球 森林 海洋 "
    "之恋 的家 很甜 在线 加油 好运 开心 努力 慢慢 静静 悠悠 呀呀 萌哒 酱酱 喵喵 汪汪 泡泡 跳跳 朵朵 "
    "贝贝 安安"
)
_NICK_LATIN = _words(
    "lele momo xiaoyu tiantian huahua yoyo jiajia sunny lucky coco mimi dudu kiki lily nana qiqi "
    "xixi bobo doudou feifei haha jojo mumu nini pipi ruirui susu wawa yuyu zizi"
)
_DISPLAY_NICKS = _words(
    "清风 可乐 麦兜 糖果 豆豆 暖暖2018 清风_dudu 小确幸 一只猫 追风少年 奶油 阿狸 木木 七七 晴天 "
    "Sunny 橙子 小熊 南风 半夏 初见 安好"
)
_MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 177 178 180 181 182 183 "
    "185 186 187 188 189 190 191 198 199"
)
_MESSAGES = [
    "送人的，不要放价格单",
    "发顺丰可以吗",
    "请尽快发货，谢谢",
    "麻烦包装好一点",
    "放快递柜就行",
    "周末不在家，请工作日送",
    "颜色发黑色的，谢谢",
    "能开发票吗",
    "老顾客了，多送点小样",
    "生日礼物，麻烦加急",
]
_MEMOS = ["补发一件", "优先发货", "缺货，已联系客户", "老客户，送小礼品", "改地址，已核对"]
_CARRIERS = [  # name, tracking prefix, digits, weight
    ("中通快递", "7", 12, 5),
    ("圆通速递", "YT", 12, 4),
    ("韵达快递", "43", 11, 4),
    ("申通快递", "77", 12, 3),
    ("极兔速递", "JT", 12, 4),
    ("顺丰速运", "SF", 12, 2),
    ("邮政快递包裹", "98", 12, 2),
    ("EMS", "11", 11, 1),
    ("京东快递", "JDV", 12, 1),
]
CARRIERS = [(name, prefix, 10**digits) for name, prefix, digits, weight in _CARRIERS for _ in range(weight)]
_REFUND_REASONS = [
    "不喜欢/不想要",
    "质量问题",
    "七天无理由退换货",
    "未按约定时间发货",
    "尺码拍错/不喜欢/效果差",
    "少件/漏发",
    "拍错/多拍",
    "与商品描述不符",
]


@dataclass(frozen=True)
class _Product:
    item_id: str  # 商品id
    title: str
    code: str  # 商家编码 stem: the SKU's code is `<code>-<variant>-<variant>`
    price_cents: int
    options: tuple[tuple[str, tuple[str, ...]], ...]  # (属性名, values)
    weight: int


_CATALOGUE = [
    _Product(
        "600071284578",
        "运动跑步鞋男透气网面轻便减震休闲鞋",
        "XX-PB",
        19900,
        (("颜色分类", ("黑白", "全黑", "灰蓝")), ("尺码", ("39", "40", "41", "42", "43", "44"))),
        3,
    ),
    _Product(
        "600079203715", "USB充电台灯护眼学习书桌宿舍床头灯", "JJ-TD", 4500, (("颜色分类", ("白色", "粉色", "绿色")),), 4
    ),
    _Product("600134637674", "婴儿纸尿裤超薄透气尿不湿", "MY-NK", 13900, (("尺码", ("S", "M", "L", "XL")),), 5),
    _Product(
        "600102961126", "一次性洗脸巾纯棉加厚洁面巾抽取式", "RH-XLJ", 1990, (("规格", ("3包", "6包", "12包")),), 8
    ),
    _Product("600182152496", "颈椎按摩仪肩颈按摩器护颈仪", "GH-AMY", 26900, (("颜色分类", ("白色", "粉色")),), 1),
    _Product(
        "600015850619",
        "加厚珊瑚绒毛毯冬季午睡盖毯沙发毯子",
        "JF-MT",
        5900,
        (("颜色分类", ("灰色", "米白")), ("尺寸", ("150x200cm", "180x200cm"))),
        3,
    ),
    _Product("600174233359", "办公室午睡枕趴睡枕学生午休神器", "JF-WSZ", 3600, (), 3),
    _Product(
        "600126718537", "机械键盘青轴茶轴有线游戏键盘104键", "3C-JP", 21900, (("轴体", ("青轴", "茶轴", "红轴")),), 2
    ),
    _Product(
        "600087122852",
        "大容量双肩包男女学生书包15.6寸电脑背包",
        "XB-SJB",
        7900,
        (("颜色分类", ("黑色", "灰色", "藏青")),),
        3,
    ),
    _Product(
        "600039608030",
        "适用iPhone15ProMax手机壳液态硅胶全包防摔",
        "3C-SJK",
        2580,
        (("适用型号", ("iPhone15ProMax", "iPhone15Pro", "iPhone15")), ("颜色分类", ("午夜黑", "远峰蓝", "浅粉"))),
        6,
    ),
    _Product(
        "600055123870", "无线蓝牙耳机半入耳式降噪超长续航运动耳机", "3C-EJ", 12900, (("颜色分类", ("白色", "黑色")),), 3
    ),
    _Product(
        "600093316412",
        "2024春季新款女装韩版宽松显瘦长袖衬衫女百搭上衣",
        "NZ-CS",
        8900,
        (("颜色分类", ("白色", "粉色", "蓝色")), ("尺码", ("S", "M", "L", "XL"))),
        4,
    ),
    _Product("600147709325", "成猫幼猫通用型全价猫粮10斤装", "CW-MM", 9900, (("口味", ("三文鱼味", "鸡肉味")),), 5),
    _Product(
        "600066254190", "厨房置物架落地多层微波炉收纳架", "JJ-ZWJ", 12800, (("规格", ("两层", "三层", "四层")),), 2
    ),
    _Product(
        "600118845077",
        "儿童保温杯带吸管316不锈钢小学生水杯",
        "MY-BWB",
        6900,
        (("颜色分类", ("粉色", "蓝色", "黄色")),),
        3,
    ),
    _Product(
        "600021937764",
        "纯棉四件套全棉床单被套床上用品",
        "JF-SJT",
        29900,
        (("尺寸", ("1.5m床", "1.8m床")), ("颜色分类", ("灰白格", "浅蓝", "豆沙粉"))),
        2,
    ),
    _Product("600160488213", "云南小粒咖啡豆中度烘焙500g", "SP-KFD", 6800, (("研磨", ("咖啡豆", "中细研磨粉")),), 4),
    _Product("600042256908", "原味坚果每日坚果混合果仁30包", "SP-JG", 8990, (("规格", ("30包", "15包")),), 5),
    _Product("600199031546", "保湿补水面霜女秋冬滋润霜50g", "MZ-MS", 15800, (), 2),
    _Product("600110742359", "氨基酸洗面奶男女温和清洁", "MZ-XMN", 5900, (("规格", ("100g", "150g")),), 4),
    _Product("600083390621", "家用电动牙刷成人声波软毛", "GH-YS", 14900, (("颜色分类", ("白色", "黑色", "粉色")),), 2),
    _Product(
        "600128857140",
        "瑜伽垫加厚加宽防滑健身垫",
        "YD-YJD",
        7900,
        (("颜色分类", ("紫色", "蓝色", "灰色")), ("厚度", ("10mm", "15mm"))),
        2,
    ),
    _Product("600051178893", "不锈钢保温饭盒上班族多层便当盒", "JJ-FH", 4990, (("规格", ("两层", "三层")),), 3),
    _Product(
        "600170065532",
        "男士纯棉短袖T恤夏季圆领打底衫",
        "NS-TX",
        4900,
        (("颜色分类", ("白色", "黑色", "藏青")), ("尺码", ("M", "L", "XL", "XXL"))),
        4,
    ),
    _Product("600036617205", "宠物狗狗玩具耐咬磨牙球", "CW-WJ", 1990, (), 3),
]
CATALOGUE = [product for product in _CATALOGUE for _ in range(product.weight)]


def _skus(product: _Product) -> list[tuple[str, str]]:
    """Every variant of a product: (商家编码 `XX-PB-黑白-39`, 商品属性 `颜色分类：黑白;尺码：39`)."""
    combinations: list[list[tuple[str, str]]] = [[]]
    for name, values in product.options:
        combinations = [[*combo, (name, value)] for combo in combinations for value in values]
    return [
        ("-".join([product.code, *(value for _, value in combo)]), ";".join(f"{n}：{v}" for n, v in combo))
        for combo in combinations
    ]


SKUS = {product.code: _skus(product) for product in _CATALOGUE}
_KINDS = [1] * 75 + [2] * 17 + [3] * 6 + [4] * 2  # distinct items per order
_QUANTITIES = [1] * 80 + [2] * 15 + [3] * 5
_DISCOUNTS = [100] * 10 + [95, 95, 90, 90, 88, 85, 80]  # percent of list price paid (coupons, 满减)
_SHIPPING = [0] * 16 + [600, 800, 1000, 1200]

# Loyalty classes: (share of buyers, weight for repeat orders). Most buyers order once; a few order every month.
# With five orders per buyer the classes average about 1, 3, 8, 23 and 67 orders.
_LOYALTY = [(0.55, 0), (0.25, 1), (0.12, 3), (0.06, 10), (0.02, 30)]
_STRIDES = [7_368_787, 1_000_003, 999_983, 104_729]  # primes; one of them is coprime with any buyer count


def _loyalty_ranges(buyers: int) -> tuple[list[tuple[int, int, float]], float]:
    """Buyer-number ranges per class with cumulative repeat weight: (low, high, cumulative weight)."""
    ranges, low, cumulative = [], 0, 0.0
    for k, (share, weight) in enumerate(_LOYALTY):
        high = buyers if k == len(_LOYALTY) - 1 else min(buyers, low + round(buyers * share))
        if high > low and weight:
            cumulative += (high - low) * weight
            ranges.append((low, high, cumulative))
        low = high
    if not ranges:  # too few buyers for the loyal classes: everyone may come back
        ranges, cumulative = [(0, buyers, float(buyers))], float(buyers)
    return ranges, cumulative


_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64: a buyer's number → 64 well-mixed bits, so buyer details need no table."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _pick(rnd, choices):
    return choices[int(rnd() * len(choices))]  # Random.choice, without its bookkeeping: it runs ~20 times an order


def _between(rnd, low: int, high: int) -> int:
    return low + int(rnd() * (high - low))


_MONEY = [f"{cents // 100}.{cents % 100:02d}" for cents in range(100_000)]  # up to 999.99: most amounts


def _money(cents: int) -> str:
    return _MONEY[cents] if cents < 100_000 else f"{cents // 100}.{cents % 100:02d}"


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + SHANGHAI_OFFSET))


@dataclass(frozen=True)
class _Buyer:
    nick: str
    display_nick: str
    name: str
    mobile: str
    alipay: str
    addresses: tuple[tuple[str, str, str, str, str], ...]  # province, city, district, detail, postcode


@dataclass(frozen=True)
class DemoExport:
    """What `demo_exports_write` wrote."""

    orders_path: Path
    lines_path: Path
    refunds_path: Path | None
    orders: int
    lines: int
    refunds: int
    buyers: int

    @property
    def paths(self) -> list[Path]:
        return [p for p in (self.orders_path, self.lines_path, self.refunds_path) if p is not None]


class _DemoShop:
    """Makes orders one at a time, newest first as the seller centre lists them."""

    def __init__(
        self,
        *,
        orders: int,
        buyers: int,
        seed: int,
        end: datetime,
        span_days: int,
        masked: bool,
        shop_name: str,
        layout: str = "v2023",
    ):
        self.rng = Random(seed)
        self.seed = seed
        self.orders = orders
        self.buyers = max(1, min(buyers, orders))
        self.end_ts = end.timestamp()
        self.span = span_days * 86400
        self.masked = masked
        self.shop_name = shop_name
        self.layout = layout
        self.introduced = 0  # buyers given their first order so far
        self._buyer_cache: dict[int, _Buyer] = {}
        # Buyer numbers are scrambled by an affine bijection mod 10^k: unique codes that do not look sequential.
        self.code_modulus = 10 ** max(6, len(str(self.buyers)) + 1)
        self.order_modulus = 10 ** max(7, len(str(orders)))
        self.salt = _mix(seed)
        self.serial_offset = self.salt % self.order_modulus
        self.buyer_stride = next(p for p in _STRIDES if math.gcd(p, self.buyers) == 1)
        self.buyer_offset = self.rng.randrange(self.buyers)
        self.loyalty_ranges, self.loyalty_total = _loyalty_ranges(self.buyers)

    # -- buyers --------------------------------------------------------------------------------------------------
    def buyer(self, number: int) -> _Buyer:
        # Repeat orders go mostly to a loyal few: a small cache saves re-deriving them, memory stays bounded.
        buyer = self._buyer_cache.get(number)
        if buyer is None:
            if len(self._buyer_cache) >= 20_000:
                self._buyer_cache.clear()
            buyer = self._buyer_cache[number] = self._buyer_derive(number)
        return buyer

    def _buyer_derive(self, number: int) -> _Buyer:
        h = _mix(number ^ (self.seed * 0x9E3779B1))
        code = (number * 7_368_787 + 12_345) % self.code_modulus
        nick = self._nick(code)
        h, surname = divmod(h, len(SURNAMES))
        h, female = divmod(h, 2)
        given_names = _GIVEN_FEMALE if female else _GIVEN_MALE
        h, given = divmod(h, len(given_names))
        h, display = divmod(h, len(_DISPLAY_NICKS))
        h, prefix = divmod(h, len(_MOBILE_PREFIXES))
        mobile = _MOBILE_PREFIXES[prefix] + f"{(number * 73_939_133 + 9_973) % 10**8:08d}"  # unique per buyer
        h, alipay_kind = divmod(h, 2)
        alipay = mobile if alipay_kind else f"{_mix(h) % 3_000_000_000 + 100_000_000}@qq.com"
        h, address_count = divmod(h, 5)  # one buyer in five ships to a second address (office, parents)
        addresses = tuple(self._address(_mix(h + k)) for k in range(2 if address_count == 0 else 1))
        return _Buyer(nick, _DISPLAY_NICKS[display], SURNAMES[surname] + given_names[given], mobile, alipay, addresses)

    @staticmethod
    def _nick(code: int) -> str:
        """A member name that no other buyer has: `code` decodes into parts in exactly one way."""
        code, style = divmod(code, 10)
        if style < 3:  # Taobao's default member names
            return f"tb{(code * 7_777_777 + 3_141_592_653) % 10**10:010d}"
        if style < 7:
            code, a = divmod(code, len(_NICK_WORDS_A))
            code, b = divmod(code, len(_NICK_WORDS_B))
            return _NICK_WORDS_A[a] + _NICK_WORDS_B[b] + (str(code) if code else "")
        if style < 9:
            code, a = divmod(code, len(_NICK_LATIN))
            return f"{_NICK_LATIN[a]}{code:04d}"
        code, a = divmod(code, len(_NICK_WORDS_A))
        code, b = divmod(code, len(_NICK_LATIN))
        return f"{_NICK_WORDS_A[a]}_{_NICK_LATIN[b]}{code if code else ''}"

    @staticmethod
    def _address(h: int) -> tuple[str, str, str, str, str]:
        h, region = divmod(h, len(REGIONS))
        h, street = divmod(h, len(_STREETS))
        h, estate = divmod(h, len(_ESTATES))
        h, number = divmod(h, 998)
        h, building = divmod(h, 30)
        h, unit = divmod(h, 5)
        room = h % 2600 + 101
        province, city, district, postcode = REGIONS[region]
        detail = f"{_STREETS[street]}{number + 1}号{_ESTATES[estate]}{building + 1}栋{unit + 1}单元{room}室"
        return province, city, district, detail, postcode

    def pick_buyer(self, i: int) -> int:
        """Every buyer gets one order, spread over the whole span; repeat orders go by loyalty class.

        Buyer numbers are ranges of loyalty classes (see _LOYALTY), handed out in a scrambled order, so that a
        pick needs no table: first orders walk through an affine bijection of 0..buyers-1.
        """
        rnd = self.rng.random
        remaining_new = self.buyers - self.introduced
        if remaining_new and rnd() * (self.orders - i) < remaining_new:
            self.introduced += 1
            return (self.introduced * self.buyer_stride + self.buyer_offset) % self.buyers
        pick = rnd() * self.loyalty_total
        for low, high, cumulative in self.loyalty_ranges:
            if pick < cumulative:
                return low + int(rnd() * (high - low))
        return self.buyers - 1  # not reached: the last cumulative weight is the total

    # -- orders --------------------------------------------------------------------------------------------------
    def order(self, i: int) -> tuple[dict, list[dict], list[dict]]:
        """Order i (0 = newest): its 订单报表 row, 宝贝报表 rows and refund rows, as dicts of strings."""
        rnd = self.rng.random
        created = self.end_ts - self.span * ((i + rnd()) / self.orders) ** 1.25  # the shop grows: more recent orders
        created = float(int(created))
        buyer = self.buyer(self.pick_buyer(i))
        province, city, district, detail, postcode = buyer.addresses[0 if rnd() < 0.7 else -1]
        receiver, mobile = buyer.name, buyer.mobile
        serial = (i * 3_276_509 + self.serial_offset) % self.order_modulus
        # 10 digits, hashed from (seed, i) rather than drawn, so that order i keeps its number whatever the end date:
        # seed_demo run on another day updates the demo orders instead of adding new ones.
        prefix = str(1_000_000_000 + _mix(i ^ self.salt) % 3_000_000_000)
        order_no = f"{prefix}0{serial:0{len(str(self.order_modulus)) - 1}d}"

        items = self._items()
        list_cents = sum(product.price_cents * quantity for product, _, _, quantity in items)
        goods = list_cents * _pick(rnd, _DISCOUNTS) // 100
        shipping = _pick(rnd, _SHIPPING) if goods < 9900 else 0
        age = self.end_ts - created
        outcome = rnd()
        paid_ts = shipped_ts = received_ts = None
        close_reason, refund_kind = "订单未关闭", None
        if outcome < 0.065:  # never paid
            status = "等待买家付款" if age < 86400 else "交易关闭"
            close_reason = "订单未关闭" if age < 86400 else "买家未付款"
        elif outcome < 0.067:
            status, close_reason = "交易被淘宝关闭", "买家未付款"
        else:
            paid_ts = created + _between(rnd, 10, 1800)
            shipped_ts = paid_ts + _between(rnd, 3600, 3 * 86400)
            received_ts = shipped_ts + _between(rnd, 2 * 86400, 12 * 86400)
            if outcome < 0.097 and paid_ts + 2 * 86400 < self.end_ts:  # refunded before shipping: the trade closes
                status, close_reason, refund_kind = "交易关闭", "退款", "full"
                shipped_ts = received_ts = None
            elif self.end_ts < shipped_ts:
                status, shipped_ts, received_ts = "买家已付款，等待卖家发货", None, None
            elif self.end_ts < received_ts:
                status, received_ts = "卖家已发货，等待买家确认", None
            else:
                status = "交易成功"
                if outcome > 0.975 and received_ts + 12 * 86400 < self.end_ts:
                    # an after-sales refund of one item (or one the seller declined): the trade stays 交易成功
                    refund_kind = "after_sale" if outcome > 0.98 else "declined"

        paid = goods + shipping if paid_ts else 0
        refund_window = None
        if refund_kind == "full":  # asked for before the parcel left, refunded at once
            refund_window = (paid_ts + _between(rnd, 60, 3600), _between(rnd, 600, 86400))
        elif refund_kind:  # asked for within a week of receipt, settled within four days
            refund_window = (received_ts + _between(rnd, 3600, 7 * 86400), _between(rnd, 3600, 4 * 86400))
        lines, refunds, refund_total = self._lines(
            order_no, prefix, serial, items, list_cents, goods, paid_ts is not None, refund_kind, refund_window
        )
        carrier, tracking = "", ""
        if shipped_ts:
            carrier, tracking_prefix, tracking_modulus = _pick(rnd, CARRIERS)
            tracking = f"{tracking_prefix}{_between(rnd, tracking_modulus // 10, tracking_modulus)}"
        message = _pick(rnd, _MESSAGES) if rnd() < 0.2 else ""
        memo = _pick(rnd, _MEMOS) if rnd() < 0.05 else ""
        virtual_expires = ""
        if self.masked:
            surname = 2 if receiver[:2] in SURNAMES else 1  # 欧阳飞 → 欧阳*, 吴汐萍 → 吴**
            receiver = receiver[:surname] + "*" * (len(receiver) - surname)
            detail = detail[:4] + "****"
            if paid_ts and self.layout == "v2023" and rnd() < 0.3:  # a virtual number, forwards for ~15 days
                mobile = f"170{_between(rnd, 0, 10**8):08d}-{_between(rnd, 0, 10**4):04d}"
                virtual_expires = _when(paid_ts + 15 * 86400)
            else:
                mobile = mobile[:3] + "****" + mobile[-4:]
        elif self.layout == "v2017":
            mobile = "'" + mobile  # 2017 exports keep phones text with Excel's leading apostrophe
        nick = buyer.nick if not self.masked else buyer.nick[0] + "**" + buyer.nick[-1]
        created_s = _when(created)
        paid_at = _when(paid_ts) if paid_ts else ""
        # 支付单号: the payment date, then Alipay's 22001 and 15 digits
        pay_no = f'="{paid_at[:10].replace("-", "")}22001{_between(rnd, 0, 10**15):015d}"' if paid_ts else '""'
        shipped_at = _when(shipped_ts) if shipped_ts else ""
        common = {
            "order_no": order_no,
            "status": status,
            "pay_no": pay_no,
            "created": created_s,
            "paid_at": paid_at,
            "shipped_at": shipped_at,
            "tracking": tracking,
            "carrier": carrier,
            "memo": memo,
            "message": message,
        }
        for line in lines:
            line.update(common)
            line["tracking"] = f"No:{tracking}" if tracking else ""  # the 宝贝报表 prefixes tracking numbers
        for refund in refunds:
            refund.update(pay_no=pay_no, paid_at=paid_at, order_no=order_no)
        row = {
            **common,
            "nick": nick,
            "display_nick": buyer.display_nick,
            "alipay": buyer.alipay,
            "goods": _money(goods),
            "shipping": _money(shipping),
            "total": _money(goods + shipping),
            "paid": _money(paid),
            "receiver": receiver,
            "address": f"{province} {city} {district} {detail}({postcode})",
            "mobile": mobile,
            "virtual_expires": virtual_expires,
            "titles": "，".join(product.title for product, _, _, _ in items),
            "kinds": len(items),
            "quantity": sum(quantity for *_, quantity in items),
            "shop": self.shop_name,
            "close_reason": close_reason,
            "mobile_order": "手机订单" if rnd() < 0.9 else "",
            "refund": _money(refund_total),
            "received_at": _when(received_ts) if received_ts else "",
            "settled": _money(paid - refund_total) + "元" if status == "交易成功" else "0.00元",
        }
        return row, lines, refunds

    def _items(self) -> list[tuple[_Product, str, str, int]]:
        """Distinct items of one order: (product, SKU code, SKU text, quantity)."""
        rnd = self.rng.random
        kinds = _pick(rnd, _KINDS)
        chosen: list[tuple[_Product, str, str, int]] = []
        seen = set()
        while len(chosen) < kinds:
            product = _pick(rnd, CATALOGUE)
            if product.code in seen:
                continue
            seen.add(product.code)
            code, sku = _pick(rnd, SKUS[product.code])
            chosen.append((product, code, sku, _pick(rnd, _QUANTITIES)))
        return chosen

    def _lines(self, order_no, prefix, serial, items, list_cents, goods, paid, refund_kind, refund_window):
        """宝贝报表 rows: the paid amount shared out in proportion to list price, the rest to the last line."""
        lines, refunds, refund_total = [], [], 0
        refunded_index = int(self.rng.random() * len(items)) if refund_kind in ("after_sale", "declined") else None
        width = len(str(self.order_modulus)) - 1
        allotted = 0
        for k, (product, code, sku, quantity) in enumerate(items):
            share = goods - allotted if k == len(items) - 1 else product.price_cents * quantity * goods // list_cents
            allotted += share
            # A single-item order's line carries the order number; other lines their own 子订单编号.
            line_no = order_no if len(items) == 1 else f"{prefix}{k + 1}{serial:0{width}d}"
            refund_status, refund = "没有申请退款", 0
            if refund_kind == "full" or (refund_kind == "after_sale" and k == refunded_index):
                refund_status, refund = "退款成功", share
            elif refund_kind == "declined" and k == refunded_index:
                refund_status = "退款关闭"
            refund_total += refund
            lines.append(
                {
                    "line_no": line_no,
                    "title": product.title,
                    "price": _money(product.price_cents),
                    "quantity": quantity,
                    "code": code,
                    "sku": sku,
                    "goods": _money(share),
                    "paid": _money(share if paid else 0),
                    "refund_status": refund_status,
                    "refund": _money(refund),
                    "item_id": product.item_id,
                }
            )
            if refund_status != "没有申请退款":
                refunds.append(
                    self._refund(
                        f"{prefix}{k + 5}{serial:0{width}d}",
                        product,
                        code,
                        share,
                        refund,
                        refund_status,
                        refund_kind,
                        refund_window,
                    )
                )
        return lines, refunds, refund_total

    def _refund(self, refund_no, product, code, share, refund, refund_status, refund_kind, refund_window) -> dict:
        rnd = self.rng.random
        applied, duration = refund_window
        after_sale = refund_kind != "full"
        return {
            "refund_no": refund_no,
            "code": code,
            "finished_at": _when(applied + duration),
            "paid": _money(share),
            "title": product.title,
            "refund": _money(refund),
            "needs_return": "是" if after_sale else "否",
            "applied_at": _when(applied),
            "refund_status": refund_status,
            "goods_status": "买家已退货" if after_sale else "买家未收到货",
            "return_tracking": "",
            "return_carrier": "",
            "reason": _pick(rnd, _REFUND_REASONS),
            "phase": "售后" if after_sale else "售中",
            "scope": "全部退款" if refund == share else "部分退款",
        }


def demo_exports_write(
    *,
    directory: Path | str,
    orders: int,
    buyers: int | None = None,
    seed: int = 2024,
    layout: str = "v2023",
    masked: bool = False,
    refunds: bool = True,
    end: datetime | None = None,
    span_days: int = 730,
    shop_name: str = DEFAULT_SHOP_NAME,
) -> DemoExport:
    """Write a demo shop's 订单报表 + 宝贝报表 (+ 退款管理 export) into `directory`; return the paths and counts.

    `buyers` defaults to one buyer per five orders; every buyer has at least one order. Orders span `span_days`
    before `end` (default: today at midnight, Shanghai), newest first. `masked` writes buyer names, phones and
    addresses masked the way recent exports do. The same arguments write the same bytes.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    end = end or datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    buyers = buyers if buyers is not None else max(1, orders // 5)
    shop = _DemoShop(
        orders=orders,
        buyers=buyers,
        seed=seed,
        end=end,
        span_days=span_days,
        masked=masked,
        shop_name=shop_name,
        layout=layout,
    )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = end.astimezone(SHANGHAI).strftime("%Y%m%d%H%M")
    orders_path = directory / f"ExportOrderList{stamp}.csv"
    lines_path = directory / f"ExportOrderDetailList{stamp}.csv"
    refunds_path = directory / f"RefundExport{stamp}.csv" if refunds else None
    order_format = _row_format(ORDER_LAYOUTS[layout])
    line_format = _row_format(LINE_LAYOUTS[layout], trailing_comma=layout == "v2017")
    refund_format = _row_format(REFUND_LAYOUT)
    line_count = refund_count = 0
    # newline="" keeps our CRLFs; the large buffer lets the codec encode big chunks at a time.
    with (
        open(orders_path, "w", encoding=ENCODING, newline="", buffering=1 << 20) as order_file,
        open(lines_path, "w", encoding=ENCODING, newline="", buffering=1 << 20) as line_file,
        open(refunds_path or "/dev/null", "w", encoding=ENCODING, newline="") as refund_file,
    ):
        order_file.write(_header(ORDER_LAYOUTS[layout]))
        line_file.write(_header(LINE_LAYOUTS[layout]))
        refund_file.write(_header(REFUND_LAYOUT))
        for i in range(orders):
            row, lines, refund_rows = shop.order(i)
            order_file.write(order_format % row)
            line_file.write("".join(line_format % line for line in lines))
            line_count += len(lines)
            for refund in refund_rows:
                refund_file.write(refund_format % refund)
            refund_count += len(refund_rows)
    return DemoExport(
        orders_path, lines_path, refunds_path, orders, line_count, refund_count if refunds else 0, shop.introduced
    )


def slice_rows(*, source: Path, target: Path, rows: int) -> int:
    """Copy the header and the first `rows` data rows of an export (one physical line per row, as we write them)."""
    written = -1
    with open(source, "rb") as src, open(target, "wb") as dst:
        for line in src:
            if written >= rows:
                break
            dst.write(line)
            written += 1
    return written
