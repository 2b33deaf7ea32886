"""WeChat platform clients: mini-program login/phone/access token and WeChat Pay v3."""
