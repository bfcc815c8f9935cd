"""QR codes for printed documents, fast enough for one per family on a manifest of hundreds of families.

ReportLab's own encoder (reportlab.graphics.barcode.qrencoder) is correct but spends about 35 ms on a code: it
tries all eight masks and scores each, and it rebuilds the Reed–Solomon generator polynomial for every block. A
manifest of 3,000 passengers carries some 700 codes, which made it 25 s. Here the same code is made in well
under a millisecond: byte mode, error correction level M (15 % of the code may be soiled or folded), one fixed
mask (any of the eight is valid; the scoring only picks the one that scans a little more easily on screens), the
function patterns and the order of the data modules taken once per version from ReportLab's encoder, and the
error correction computed from log tables. tests/test_qr.py holds the result equal to ReportLab's, module for
module, and decodes printed codes with zbarimg.
"""

from functools import lru_cache
from itertools import zip_longest

from reportlab.graphics.barcode import qrencoder as rl
from reportlab.platypus import Flowable

LEVEL = rl.QRErrorCorrectLevel.M
_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")  # a row of modules (as bytes: True is 1) as binary digits
MASK = 0
MAX_VERSION = 40

# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _i in range(255):
    _EXP[_i] = _value
    _LOG[_value] = _i
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]
# The positions (0 the most significant) of the 1 bits of each byte value.
_SET_BITS = [tuple(k for k in range(8) if value & (0x80 >> k)) for value in range(256)]


@lru_cache(maxsize=None)
def _generator(degree):
    """For each byte value f, f times the generator polynomial of this degree (its leading 1 left out), its
    coefficients packed into one integer, a byte each, highest first."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coefficient in enumerate(poly):
            nxt[j] ^= coefficient
            if coefficient:
                nxt[j + 1] ^= _EXP[_LOG[coefficient] + i]
        poly = nxt
    logs = [_LOG[c] for c in poly[1:]]
    return [0] + [int.from_bytes(bytes(_EXP[_LOG[f] + g] for g in logs), "big") for f in range(1, 256)]


def _ec_codewords(data, degree):
    """The Reed–Solomon remainder of `data`: long division by the generator, the remainder held in one integer
    (a shift register of `degree` bytes), one table row XORed in per data byte."""
    times = _generator(degree)
    top, mask = 8 * (degree - 1), (1 << 8 * degree) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & mask) ^ times[byte ^ (remainder >> top)]
    return list(remainder.to_bytes(degree, "big"))


@lru_cache(maxsize=None)
def _capacity(version):
    blocks = rl.QRRSBlock.getRSBlocks(version, LEVEL)
    return tuple((b.totalCount, b.dataCount) for b in blocks)


@lru_cache(maxsize=None)
def _layout(version):
    """(the matrix with every data module a light module under the mask, the data modules in placement order)."""
    encoder = rl.QRCode(version, LEVEL)
    encoder.dataCache = [0] * sum(total for total, _ in _capacity(version))
    encoder.makeImpl(False, MASK)
    positions = tuple((row, col) for col, row in encoder.dataPosIterator())
    return tuple(tuple(row) for row in encoder.modules), positions


def _version_for(length):
    for version in range(1, MAX_VERSION + 1):
        length_bits = 8 if version < 10 else 16
        if 4 + length_bits + 8 * length <= 8 * sum(data for _, data in _capacity(version)):
            return version
    raise ValueError(f"{length} bytes do not fit in a QR code at level M.")


def _codewords(payload, version):
    capacity = _capacity(version)
    data_count = sum(data for _, data in capacity)
    length_bits = 8 if version < 10 else 16
    # Mode (0100: bytes), length, the bytes, a terminator of up to four 0 bits, 0 bits to a whole byte.
    size = 4 + length_bits + 8 * len(payload)
    value = (((0b0100 << length_bits) | len(payload)) << 8 * len(payload)) | int.from_bytes(payload, "big")
    terminator = min(4, data_count * 8 - size)
    value <<= terminator
    size += terminator
    value <<= -size % 8
    size += -size % 8
    data = list(value.to_bytes(size // 8, "big"))
    pad = (0xEC, 0x11)
    data += [pad[i % 2] for i in range(data_count - len(data))]
    blocks, ec_blocks, offset = [], [], 0
    for total, count in capacity:
        block = data[offset:offset + count]
        offset += count
        blocks.append(block)
        ec_blocks.append(_ec_codewords(block, total - count))
    result = []
    for group in (blocks, ec_blocks):
        for column in zip_longest(*group):
            result.extend(b for b in column if b is not None)
    return result


def qr_matrix(text):
    """The modules of a QR code for `text` (UTF-8, byte mode, level M): rows of booleans, True for dark."""
    payload = text.encode("utf-8")
    version = _version_for(len(payload))
    base, positions = _layout(version)
    matrix = [list(row) for row in base]
    index = 0
    for byte in _codewords(payload, version):
        for k in _SET_BITS[byte]:
            row, col = positions[index + k]
            matrix[row][col] = not matrix[row][col]
        index += 8
    return matrix


class QRFlowable(Flowable):
    """A QR code `size` points square (the quiet zone around it is the caller's: leave 4 modules clear), drawn as
    an inline image mask, one bit a module, scaled up without smoothing: a few hundred bytes, crisp on any
    printer, and a hundred times cheaper to write than a path of a few hundred rectangles."""

    def __init__(self, text, size):
        super().__init__()
        self.text = text
        self.size = size
        self.width = self.height = size

    def wrap(self, availWidth, availHeight):  # noqa: N803 (ReportLab's names)
        return self.size, self.size

    def draw(self):
        matrix = qr_matrix(self.text)
        count = len(matrix)
        pad = -count % 8
        data = "".join(
            (int(bytes(row).translate(_AS_DIGITS), 2) << pad).to_bytes((count + pad) // 8, "big").hex()
            for row in matrix
        )
        # An image mask paints the fill colour where a sample is 1 (Decode [1 0]); /Interpolate is off by default.
        self.canv._code.append(
            f"q 0 g {self.size:.3f} 0 0 {self.size:.3f} 0 0 cm "
            f"BI /W {count} /H {count} /IM true /BPC 1 /D [1 0] /F /AHx ID {data}> EI Q"
        )
