DATABASE_URL = "mysql://root:FkwDtAswHDqV%5RQ3@127.0.0.1:3306/shop"

DATABASE_URL = "mysql://root:cJ2EBifbbzr1!Hco92@127.0.0.1:3306/shop"
