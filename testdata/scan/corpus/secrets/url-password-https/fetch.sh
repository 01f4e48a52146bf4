curl -s https://deploy:mmYqhj1RuLwTG8IGuP@artifacts.internal/repo.tar.gz

curl -s https://deploy:WvhbmLRvUhc4RBx4EZ@artifacts.internal/repo.tar.gz
