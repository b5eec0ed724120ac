"""Who is calling: users, sessions, tokens and API keys, and the request limits that keep
sign-in and chat from being hammered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.inprocess.api_keys import InProcessApiKeyStore
from adapters.inprocess.identity import InProcessSessionStore, InProcessUserRepository
from adapters.security.passwords import BcryptPasswordHasher
from adapters.security.secret_key import resolve_secret_key
from adapters.settings import RateSpec, Settings
from application import api_keys, auth
from application.limits import ApiLimits, LimitPolicy, Rate
from containers.lazy import lazy
from domain.ports import Clock

# SQLAlchemy's Core and PyJWT (with cryptography) are imported when first built.
if TYPE_CHECKING:  # the classes, for the type checker; built lazily at run time
    from adapters.security.tokens import JWTTokenService
    from adapters.sql.api_keys import SqlApiKeyStore
    from adapters.sql.sessions import SqlSessionStore
    from adapters.sql.users import SqlUserRepository
else:
    SqlUserRepository = lazy("adapters.sql.users", "SqlUserRepository")
    SqlSessionStore = lazy("adapters.sql.sessions", "SqlSessionStore")
    SqlApiKeyStore = lazy("adapters.sql.api_keys", "SqlApiKeyStore")


def _token_service(settings: Settings) -> JWTTokenService:
    from adapters.security.tokens import JWTTokenService

    jwt = settings.jwt
    return JWTTokenService(
        resolve_secret_key(
            jwt.secret_key.get_secret_value(), settings.environment, settings.data_dir
        ),
        algorithm=jwt.algorithm,
        issuer=jwt.issuer,
        audience=jwt.audience,
        access_minutes=jwt.access_token_minutes,
        refresh_days=jwt.refresh_token_days,
    )


def _rate(spec: RateSpec) -> Rate:
    return Rate(spec.calls, spec.period)


def limit_policy(settings: Settings) -> LimitPolicy:
    """LIMITS__*: how often one address or user may sign in, register and chat."""
    lim = settings.limits
    return LimitPolicy(
        enabled=lim.enabled,
        login_per_ip=_rate(lim.login_per_ip),
        login_per_user=_rate(lim.login_per_user),
        register_per_ip=_rate(lim.register_per_ip),
        chat_per_user=_rate(lim.chat_per_user),
        chat_per_ip=_rate(lim.chat_per_ip),
    )


class IdentityContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock: providers.Dependency[Clock] = providers.Dependency()
    infrastructure = providers.DependenciesContainer()

    users = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlUserRepository, infrastructure.database),
        memory=providers.Singleton(InProcessUserRepository),
    )
    sessions = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlSessionStore, infrastructure.database),
        memory=providers.Singleton(InProcessSessionStore, users),
    )
    api_key_store = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlApiKeyStore, infrastructure.database),
        memory=providers.Singleton(InProcessApiKeyStore, users),
    )
    password_hasher = providers.Singleton(
        BcryptPasswordHasher, rounds=settings.provided.security.bcrypt_rounds
    )
    token_service = providers.Singleton(_token_service, settings)

    register_user = providers.Factory(auth.RegisterUser, users, password_hasher, clock)
    # A Singleton: Login hashes a dummy password once at construction (timing defence).
    login = providers.Singleton(auth.Login, users, sessions, password_hasher, token_service, clock)
    refresh_tokens = providers.Factory(auth.RefreshTokens, sessions, token_service, clock)
    logout = providers.Factory(auth.Logout, sessions, clock)
    authenticate = providers.Factory(
        auth.Authenticate, sessions, token_service, clock, api_keys=api_key_store
    )
    set_user_active = providers.Factory(auth.SetUserActive, users, sessions, clock)
    create_api_key = providers.Factory(api_keys.CreateApiKey, api_key_store, clock)
    list_api_keys = providers.Factory(api_keys.ListApiKeys, api_key_store)
    revoke_api_key = providers.Factory(api_keys.RevokeApiKey, api_key_store, clock)

    api_limits = providers.Singleton(
        ApiLimits, infrastructure.rate_limiter, providers.Callable(limit_policy, settings)
    )
