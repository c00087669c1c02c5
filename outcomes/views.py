"""Project-level pages: the landing page and the staff second factor."""

from __future__ import annotations

import base64

from django import forms
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache

from outcomes.access import needs_second_factor, public, signed_in
from outcomes.audit.services import record_change
from patients.selectors import studies_for


@public("the landing page: lists studies only to their staff")
@never_cache  # to staff it lists their studies: no browser keeps it after logging out
def home(request: HttpRequest) -> HttpResponse:
    """Show the studies (to staff) or a pointer to the login page."""
    studies = []
    stopped = request.user.is_authenticated and needs_second_factor(request.user)
    if request.user.is_authenticated and not stopped:
        studies = list(
            studies_for(request.user)
            .annotate(patient_count=Count("patients", distinct=True))
            .prefetch_related("arms")
            .order_by("code")
        )
        for study in studies:
            study.arm_names = "; ".join(arm.name for arm in study.arms.all())
    return render(request, "home.html", {"studies": studies, "needs_second_factor": stopped})


class TokenForm(forms.Form):
    token = forms.RegexField(
        label="Six-digit code from your authenticator app", regex=r"^\s*\d{6}\s*$",
        max_length=12, error_messages={"invalid": "Enter the six digits the app shows now."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )


def _qr_svg(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


@signed_in("the second factor of one's own account")
@never_cache
def two_factor(request: HttpRequest) -> HttpResponse:
    """Confirm a one-time code (TOTP); the first time, set the authenticator app up.

    Wrong codes are throttled by django-otp (the wait doubles after each failure).
    """
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    target = _safe_next(request)
    if request.user.is_verified():
        return redirect(target)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    setting_up = device is None
    if setting_up:
        device = (TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
                  or TOTPDevice.objects.create(user=request.user, name="Authenticator app",
                                               confirmed=False))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["token"].strip()):
            if setting_up:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                record_change(obj=request.user, action="update", actor=request.user,
                              after={"second_factor": "TOTP device confirmed"})
            otp_login(request, device)
            return redirect(target)
        form.add_error("token", "That code is not right or has expired: try the one shown now."
                       if allowed else "Too many wrong codes: wait a minute, then try again.")
    context = {"form": form, "setting_up": setting_up, "next": target}
    if setting_up:
        context["secret"] = base64.b32encode(device.bin_key).decode()
        # Safe: the SVG is drawn by qrcode from our own otpauth URL.
        context["qr"] = mark_safe(_qr_svg(device.config_url))
        context["issuer"] = settings.OTP_TOTP_ISSUER
    return render(request, "registration/two_factor.html", context)
