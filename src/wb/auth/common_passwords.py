"""Passwords of 8 characters or more that lead the published lists of leaked passwords (the UK NCSC's
top 100,000, haveibeenpwned's counts): the ones a stranger tries first. A street's tester, where many
are new to apps, was let in with "password"; compared in lower case."""

COMMON_PASSWORDS = frozenset("""
password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa55word
12345678 123456789 1234567890 0123456789 987654321 0987654321 87654321 12341234 123123123 123456123
11111111 00000000 22222222 33333333 44444444 55555555 66666666 77777777 88888888 99999999 999999999
12121212 11223344 112233445566 147258369 159357456 789456123 741852963 123qweasd 1234qwer 1234abcd
qwerty12 qwerty123 qwerty1234 qwertyui qwertyuiop q1w2e3r4 q1w2e3r4t5 1q2w3e4r 1q2w3e4r5t 1qaz2wsx
zaq12wsx qazwsxedc asdfghjkl asdf1234 zxcvbnm1 abc12345 abcd1234 abc123456 a1b2c3d4 aa123456 123abc123
iloveyou iloveyou1 sunshine princess football football1 baseball baseball1 welcome1 welcome123
letmein1 letmein123 trustno1 superman starwars computer michelle jennifer whatever whatever1
corvette mercedes maverick monkey123 dragon123 shadow123 master123 charlie1 admin123 administrator
changeme changeme1 helloworld freedom1 chocolate butterfly liverpool arsenal1 chelsea1 manchester
secret123 whiteballoon
""".split())


def is_common(password: str) -> bool:
    """Whether password is one of COMMON_PASSWORDS (in any case) or one character over and over."""
    return password.lower() in COMMON_PASSWORDS or len(set(password)) == 1
