"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from models.accounts import Consultant, User
from models.leases import Lease
from models.orders import Order, OrderStatus
from models.payments import LedgerEntry, Payment, PaymentStatus
from models.posts import Post, PostStatus, PostTag
from models.ratelimits import RateCounter
from models.sessions import AuthSession
from models.sms import SmsCode
from models.tags import Tag

__all__ = [
    "AuthSession",
    "Consultant",
    "Lease",
    "LedgerEntry",
    "Order",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "Post",
    "PostStatus",
    "PostTag",
    "RateCounter",
    "SmsCode",
    "Tag",
    "User",
]
