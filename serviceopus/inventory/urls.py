from .views import job_materials, phone, purchase_orders, purchasing, stock

app_name = "inventory"
urlpatterns = [
    *job_materials.urlpatterns,
    *purchasing.urlpatterns,
    *purchase_orders.urlpatterns,
    *stock.urlpatterns,
    *phone.urlpatterns,
]
