"""Business errors the emulator answers with, and their documented messages.

A handler raises :class:`Fault`; the HTTP layer turns it into the client-API
envelope ``{"Code", "Message", "EnglishMessage"}`` (or the login endpoint's
``Response.Error``).  Messages follow the examples of the client-API pages
where one exists (``媒体不存在`` / ``material not exist`` …).
"""

from __future__ import annotations

# code -> (Message (zh), EnglishMessage (en))
MESSAGES: dict[str, tuple[str, str]] = {
    "Success": ("成功", "success"),
    "InvalidParameterValue": ("参数值错误", "invalid parameter value"),
    "InvalidParameterValue.MaterialId": ("媒体不存在", "material not exist"),
    "InvalidParameterValue.ProjectId": ("项目不存在", "project not exist"),
    "InvalidParameterValue.UploadContext": ("非法上传上下文", "invalid upload context"),
    "InvalidParameterValue.Limit": ("参数错误，Limit 参数值超过限制", "Limit greate than max"),
    "InvalidParameterValue.Offset": ("参数错误，Offset 参数值不合法", "invalid Offset"),
    "InvalidParameterValue.ClassNotExist": ("分类不存在", "class not exist"),
    "InvalidParameterValue.ClassExist": ("分类已存在", "class already exist"),
    "InvalidParameterValue.ClassNotEmpty": ("分类不为空", "class not empty"),
    "InvalidParameterValue.Platform": ("平台参数取值错误", "platform not exist"),
    "InvalidParameterValue.Definition": ("处理模板不合法", "invalid definition"),
    "InvalidParameterValue.OwnerType": ("归属类型不合法", "invalid owner type"),
    "InvalidParameterValue.OwnerId": ("归属 ID 不合法", "invalid owner id"),
    "InvalidParameterValue.Name": ("名称不合法", "invalid name"),
    "InvalidParameterValue.TeamNotExist": ("团队不存在", "team not exist"),
    "InvalidParameter": ("参数错误", "invalid parameter"),
    "MissingParameter": ("缺少参数", "missing parameter"),
    "OperationDenied.PermissionDeny": ("权限不足", "permission denied"),
    "ResourceNotFound": ("资源不存在", "resource not found"),
    "InternalError": ("服务器内部错误", "system error"),
    "InvalidAction": ("接口不存在", "invalid action"),
    "AuthFailure.SessionInvalid": ("登录态已失效，请重新登录", "session invalid"),
    "AuthFailure.SignatureFailure": ("签名校验失败", "signature verify fail"),
    "AuthFailure.SignatureExpire": ("签名已过期", "signature expired"),
    "AuthFailure.SecretIdNotFound": ("密钥不存在", "secret id not found"),
    "AuthFailure.UnauthorizedOperation": ("签名未授权此操作", "unauthorized operation"),
    "RequestLimitExceeded": ("请求频率超过限制", "request limit exceeded"),
    "ServiceUnavailable": ("服务暂不可用", "service unavailable"),
    "FailedOperation": ("操作失败", "operation failed"),
    "LimitExceeded": ("超过配额限制", "limit exceeded"),
}


def messages_for(code: str) -> tuple[str, str]:
    """The documented (zh, en) messages for ``code``, or those of its family."""
    found = MESSAGES.get(code)
    if found is not None:
        return found
    family = code.split(".", 1)[0]
    return MESSAGES.get(family, ("操作失败", code))


class Fault(Exception):
    """A business error answered with HTTP 200 and ``Code`` != ``Success``."""

    def __init__(self, code: str, english: str | None = None, message: str | None = None) -> None:
        zh, en = messages_for(code)
        self.code = code
        self.english = english if english is not None else en
        self.message = message if message is not None else zh
        super().__init__(f"{code}: {self.english}")


def missing(path: str) -> Fault:
    return Fault("MissingParameter", f"missing required parameter: {path}", f"缺少参数: {path}")


def invalid(path: str, why: str, code: str = "InvalidParameterValue") -> Fault:
    return Fault(code, f"invalid value for {path}: {why}", f"参数值错误: {path}")


def material_not_found() -> Fault:
    return Fault("InvalidParameterValue.MaterialId")


def denied() -> Fault:
    return Fault("OperationDenied.PermissionDeny")
