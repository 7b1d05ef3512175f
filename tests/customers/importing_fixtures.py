"""Small export files for importer tests, written from Python into tmp_path.

`order_row(**changes)` is one plausible 订单报表 row of the 2017 layout (46 columns, headers as exported, some with
trailing spaces); `write_export(path, header, rows)` writes them the way the seller centre does: GBK (GB18030),
every field quoted, CRLF line ends. A row may also be a str, written verbatim (for blank or broken lines)."""

from pathlib import Path

# Copies of the sample exports from the shared folder, so that a fresh clone tests without it.
SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"

ORDER_HEADER = [
    "订单编号",
    "买家会员名",
    "买家支付宝账号",
    "买家应付货款",
    "买家应付邮费",
    "买家支付积分",
    "总金额",
    "返点积分",
    "买家实际支付金额",
    "买家实际支付积分",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址 ",
    "运送方式",
    "联系电话 ",
    "联系手机",
    "订单创建时间",
    "订单付款时间 ",
    "宝贝标题 ",
    "宝贝种类 ",
    "物流单号 ",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺Id",
    "店铺名称",
    "订单关闭原因",
    "卖家服务费",
    "买家服务费",
    "发票抬头",
    "是否手机订单",
    "分阶段订单信息",
    "特权订金订单id",
    "是否上传合同照片",
    "是否上传小票",
    "是否代付",
    "定金排名",
    "修改后的sku",
    "修改后的收货地址",
    "异常信息",
    "天猫卡券抵扣",
    "集分宝抵扣",
    "是否是O2O交易",
    "退款金额",
    "预约门店",
]
LINE_HEADER_2017 = [
    "订单编号",
    "标题",
    "价格",
    "购买数量",
    "外部系统编号",
    "商品属性",
    "套餐信息",
    "备注",
    "订单状态",
    "商家编码",
]
REFUND_HEADER = [
    "订单编号",
    "退款编号",
    "支付宝交易号",
    "订单付款时间",
    "商品编码",
    "退款完结时间",
    "买家实际支付金额",
    "宝贝标题",
    "买家退款金额",
    "手工退款/系统退款",
    "是否需要退货",
    "退款的申请时间",
    "超时时间",
    "退款状态",
    "货物状态",
    "退货物流单号",
    "退货物流公司",
    "买家退款原因",
    "买家退款说明",
    "售中或售后",
    "商家备注",
    "完结时间",
    "部分退款/全部退款",
]


def order_row(**changes) -> dict:
    row = {
        "订单编号": '="3003249668502739001"',
        "买家会员名": "tb_alice",
        "买家支付宝账号": "alice@example.com",
        "买家应付货款": "100.00",
        "买家应付邮费": "8.00",
        "买家支付积分": "0",
        "总金额": "108.00",
        "返点积分": "0",
        "买家实际支付金额": "108.00",
        "买家实际支付积分": "0",
        "订单状态": "买家已付款，等待卖家发货",
        "买家留言": "",
        "收货人姓名": "王小丫",
        "收货地址 ": "浙江省 杭州市 西湖区 文三路100号1单元(310012)",
        "运送方式": "快递",
        "联系电话 ": "",
        "联系手机": "'13800001234",
        "订单创建时间": "2024-03-01 10:00:00",
        "订单付款时间 ": "2024-03-01 10:05:00",
        "宝贝标题 ": "陶瓷马克杯",
        "宝贝种类 ": "1",
        "物流单号 ": "",
        "物流公司": "",
        "订单备注": "",
        "宝贝总数量": "1",
        "店铺Id": "0",
        "店铺名称": "小林的杂货铺",
        "订单关闭原因": "订单未关闭",
        "卖家服务费": "0",
        "买家服务费": "0元",
        "特权订金订单id": '=""',
        "退款金额": "0.00",
    }
    row.update(changes)
    return row


def line_row(**changes) -> dict:
    row = {
        "订单编号": '="3003249668502739001"',
        "标题": "陶瓷马克杯",
        "价格": "32.00",
        "购买数量": "1",
        "外部系统编号": "JJ-MKB",
        "商品属性": "颜色分类：奶白",
        "订单状态": "买家已付款，等待卖家发货",
        "商家编码": "JJ-MKB",
    }
    row.update(changes)
    return row


def refund_row(**changes) -> dict:
    row = {
        "订单编号": '="3003249668502739001"',
        "退款编号": '="3003249668502739901"',
        "订单付款时间": "2024-03-01 10:05:00",
        "商品编码": "JJ-MKB",
        "买家实际支付金额": "108.00",
        "宝贝标题": "陶瓷马克杯",
        "买家退款金额": "32.00",
        "是否需要退货": "是",
        "退款的申请时间": "2024-03-10 09:00:00",
        "退款状态": "退款成功",
        "货物状态": "买家已退货",
        "售中或售后": "售后",
        "部分退款/全部退款": "部分退款",
        "退款完结时间": "2024-03-12 09:00:00",
    }
    row.update(changes)
    return row


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def export_text(header: list[str], rows: list, *, trailing_comma: bool = False) -> str:
    lines = [",".join(_quote(h) for h in header)]
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        line = ",".join(_quote(str(row.get(h, ""))) for h in header)
        lines.append(line + ("," if trailing_comma else ""))
    return "\r\n".join(lines) + "\r\n"


def write_export(
    path: Path,
    header: list[str],
    rows: list,
    *,
    encoding: str = "gb18030",
    bom: bool = False,
    trailing_comma: bool = False,
) -> Path:
    data = export_text(header, rows, trailing_comma=trailing_comma).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def line_of(path: Path, needle: str, encoding: str = "gb18030", *, nth: int = 1) -> int:
    """The 1-based line of the original file holding the nth `needle` (found independently of the importer)."""
    text = path.read_bytes().decode(encoding)
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


def by_kind(summary: dict) -> dict:
    """An import summary's file entries by their kind: orders, lines, refunds."""
    return {entry["kind"]: entry for entry in summary["files"]}
