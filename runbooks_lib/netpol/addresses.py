"""ipBlock CIDRs (with except) matched against pod IPs, IPv4 and IPv6.

For the class engine, IPs are packed into numpy arrays (family, high and low 64
bits) so that one CIDR is tested against every pod IP at once.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_LOW = (1 << 64) - 1


@dataclass(frozen=True)
class IPBlock:
    cidr: _IPNetwork
    excepts: tuple[_IPNetwork, ...] = ()

    def contains(self, ip: _IPAddress) -> bool:
        return (ip.version == self.cidr.version and ip in self.cidr
                and not any(ip.version == e.version and ip in e for e in self.excepts))

    def matches_any(self, ips: Iterable[_IPAddress]) -> bool:
        """A pod matches when any of its IPs does; a pod without IPs never matches."""
        return any(self.contains(ip) for ip in ips)

    def describe(self) -> str:
        text = str(self.cidr)
        return text + (f" except {', '.join(map(str, self.excepts))}" if self.excepts else "")

    def to_dict(self) -> dict:
        return {"cidr": str(self.cidr), **({"except": [str(e) for e in self.excepts]} if self.excepts else {})}


def parse_ip(text: object) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None


def parse_network(text: object, where: str) -> _IPNetwork:
    try:
        # strict=False: the API accepts host bits set only in old versions; we read what we are given.
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)") from None


class PackedAddresses:
    """IPs of many owners (pod classes) in arrays, for testing CIDRs against all at once."""

    def __init__(self, ips_per_owner: Sequence[Sequence[_IPAddress]]):
        owners, family, high, low = [], [], [], []
        for owner, ips in enumerate(ips_per_owner):
            for ip in ips:
                value = int(ip)
                owners.append(owner)
                family.append(ip.version)
                high.append(value >> 64)
                low.append(value & _LOW)
        self.count = len(ips_per_owner)
        self.owner = np.asarray(owners, dtype=np.int64)
        self.family = np.asarray(family, dtype=np.int8)
        self.high = np.asarray(high, dtype=np.uint64)
        self.low = np.asarray(low, dtype=np.uint64)

    def _in_network(self, net: _IPNetwork) -> np.ndarray:
        bits = 32 if net.version == 4 else 128
        mask = ((1 << net.prefixlen) - 1) << (bits - net.prefixlen)
        base = int(net.network_address)
        mask_high, mask_low = np.uint64(mask >> 64), np.uint64(mask & _LOW)
        return ((self.family == net.version)
                & ((self.high & mask_high) == np.uint64((base & mask) >> 64))
                & ((self.low & mask_low) == np.uint64(base & mask & _LOW)))

    def match(self, block: IPBlock) -> np.ndarray:
        """Boolean vector over owners: any of the owner's IPs is in the block."""
        hit = self._in_network(block.cidr)
        for excluded in block.excepts:
            hit &= ~self._in_network(excluded)
        result = np.zeros(self.count, dtype=bool)
        result[self.owner[hit]] = True
        return result
